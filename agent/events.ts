// Events the node agent reports through the API (POST events in its namespace). Best effort: a
// failure to record is logged at debug, it never fails the work it describes.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ApiClient } from '../core/client.ts';
import type { Logger } from '../core/logging.ts';
import type { ResourceType } from '../core/resources.ts';
import type { KubeObject } from '../core/types.ts';
import { API_VERSION } from '../core/types.ts';

export const AgentEventReasons = {
  Started: 'Started',
  Killed: 'Killed',
  BackOff: 'BackOff',
  Unhealthy: 'Unhealthy',
  Fenced: 'Fenced',
  Stopped: 'Stopped',
  Discovered: 'Discovered',
} as const;
export type AgentEventReason = (typeof AgentEventReasons)[keyof typeof AgentEventReasons];

export type EventType = 'Normal' | 'Warning';

export interface InvolvedObject {
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

export interface AgentEventWriter {
  record(obj: InvolvedObject, type: EventType, reason: AgentEventReason, message: string): Promise<void>;
}

export const AGENT_COMPONENT = 'drover-agent';

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function createAgentEventWriter(opts: {
  client: () => ApiClient; events: ResourceType; nodeName: string; logger: Logger; now?: () => number;
}): AgentEventWriter {
  const now = opts.now ?? Date.now;
  const host = hostname();
  return {
    async record(obj, type, reason, message) {
      const ms = now();
      const ts = rfc3339(ms);
      const ev: KubeObject = {
        apiVersion: API_VERSION,
        kind: 'Event',
        metadata: { name: `${obj.name.slice(0, 200)}.${ms.toString(16)}${randomBytes(3).toString('hex')}`, namespace: obj.namespace },
        involvedObject: { apiVersion: API_VERSION, ...obj },
        reason, message, type, count: 1, firstTimestamp: ts, lastTimestamp: ts,
        source: { component: AGENT_COMPONENT, host: opts.nodeName },
        reportingController: AGENT_COMPONENT,
        reportingInstance: `${opts.nodeName}@${host}`,
      };
      try {
        await opts.client().create(opts.events, ev);
      } catch (e) {
        opts.logger.debug('could not record event', { reason, object: `${obj.kind}/${obj.name}`, err: (e as Error).message });
      }
    },
  };
}
