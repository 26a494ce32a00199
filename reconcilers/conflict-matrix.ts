// The seed's conflict matrix: how an operation requested on one target (a Container or an Agent)
// relates to one already holding it (Assigned or Running). Rows = holding, columns = requested.
import type { TaskType } from '../core/kinds.generated.ts';

export const ConflictLevels = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'NONE'] as const;
export type ConflictLevel = (typeof ConflictLevels)[number];

/** Reads and health checks are not Tasks, but the matrix names them: they never block or wait. */
export const ReadOperations = ['read', 'healthCheck'] as const;
export type ConflictOperation = TaskType | (typeof ReadOperations)[number];

/** What the dispatcher does with a requested task for each level. */
export const ConflictPolicy = {
  CRITICAL: 'wait', // never together
  HIGH: 'wait', // queued behind the holder
  MEDIUM: 'warn', // allowed, with a Warning Event
  LOW: 'proceed',
  NONE: 'proceed',
} as const satisfies Record<ConflictLevel, 'wait' | 'warn' | 'proceed'>;

const C = 'CRITICAL', H = 'HIGH', M = 'MEDIUM', L = 'LOW', N = 'NONE';

// delete conflicts critically with everything, both ways; so do two deploys, restarts or updates.
// Agent operations target Agents and container operations Containers, so across the two it is NONE.
export const CONFLICT_MATRIX = {
  //           deploy delete start stop restart update startAgent stopAgent
  deploy:     { deploy: C, delete: C, start: H, stop: H, restart: H, update: H, startAgent: N, stopAgent: N },
  delete:     { deploy: C, delete: C, start: C, stop: C, restart: C, update: C, startAgent: C, stopAgent: C },
  start:      { deploy: H, delete: C, start: L, stop: H, restart: H, update: M, startAgent: N, stopAgent: N },
  stop:       { deploy: H, delete: C, start: H, stop: L, restart: C, update: H, startAgent: N, stopAgent: N },
  restart:    { deploy: H, delete: C, start: H, stop: C, restart: C, update: H, startAgent: N, stopAgent: N },
  update:     { deploy: H, delete: C, start: M, stop: H, restart: H, update: C, startAgent: N, stopAgent: N },
  startAgent: { deploy: N, delete: C, start: N, stop: N, restart: N, update: N, startAgent: C, stopAgent: H },
  stopAgent:  { deploy: N, delete: C, start: N, stop: N, restart: N, update: N, startAgent: H, stopAgent: L },
} as const satisfies Record<TaskType, Record<TaskType, ConflictLevel>>;

function isRead(op: ConflictOperation): op is (typeof ReadOperations)[number] {
  return (ReadOperations as readonly string[]).includes(op);
}

/** The level between an operation holding a target and one requested on the same target. */
export function conflictLevel(running: ConflictOperation, requested: ConflictOperation): ConflictLevel {
  if (isRead(running) || isRead(requested)) return 'NONE';
  return CONFLICT_MATRIX[running][requested];
}

/** True when the requested operation must wait for the holder (CRITICAL or HIGH). */
export function mustWait(running: ConflictOperation, requested: ConflictOperation): boolean {
  return ConflictPolicy[conflictLevel(running, requested)] === 'wait';
}
