// Thousands of generated malformed manifests and requests against a real manager process: every one
// must be refused with a 4xx Status that says why, none may be a 5xx, the manager must stay up, and
// nothing but the objects created on purpose may be stored. Cases: test/helpers/bad-input-cases.ts.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRegistry } from '../../core/crds.ts';
import { MAX_MANIFEST_BYTES } from '../../core/yaml-io.ts';
import {
  API, BAD_PREFIX, NS, aliasBombYaml, generateCases, validObjects, type HttpCase, type RawCase,
} from '../helpers/bad-input-cases.ts';
import { startManager, drover, api, pidAlive, tempDir, cleanup, type ManagerProcess } from '../helpers/processes.ts';

const SEED = 20261123;
const CONCURRENCY = 8;
const registry = loadRegistry();
let m: ManagerProcess;

afterAll(cleanup);

interface Outcome {
  what: string;
  status: number;
  message?: string;
  /** Why the answer is not a proper 4xx Status; undefined when it is. */
  problem?: string;
}

function messageOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { message?: string }).message;
  } catch {
    return undefined;
  }
}

function checkStatusBody(status: number, text: string): string | undefined {
  if (status < 400 || status > 499) return `HTTP ${status}: ${text.slice(0, 300)}`;
  let body: { kind?: unknown; message?: unknown; code?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    return `HTTP ${status} without a JSON Status body: ${JSON.stringify(text.slice(0, 200))}`;
  }
  if (body.kind !== 'Status') return `HTTP ${status}: not a Status: ${text.slice(0, 200)}`;
  if (typeof body.message !== 'string' || body.message.trim() === '') return `HTTP ${status}: Status without a message`;
  if (body.code !== status) return `HTTP ${status}: Status says code ${String(body.code)}`;
  return undefined;
}

function authHeader(c: HttpCase): Record<string, string> {
  switch (c.auth ?? 'admin') {
    case 'admin': return { authorization: `Bearer ${m.token}` };
    case 'wrong': return { authorization: 'Bearer drv_not-a-token' };
    case 'basic': return { authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` };
    case 'none': return {};
  }
}

function send(agent: Agent, port: number, c: HttpCase): Promise<Outcome> {
  return new Promise((done) => {
    const body = c.body === undefined ? undefined : Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body);
    const headers: Record<string, string | number> = { ...authHeader(c), ...(c.headers ?? {}) };
    if (body) headers['content-length'] = body.length;
    let answered = false;
    const req = request({ host: '127.0.0.1', port, method: c.method, path: c.path, headers, agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        done({ what: c.what, status: res.statusCode ?? 0, message: messageOf(text), problem: checkStatusBody(res.statusCode ?? 0, text) });
      });
      res.on('error', (e) => done({ what: c.what, status: res.statusCode ?? 0, problem: `response broke off: ${e.message}` }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e) => {
      if (!answered) done({ what: c.what, status: 0, problem: `no answer: ${e.message}` });
    });
    req.end(body);
  });
}

/** A raw request on its own connection; the first answer is read until the server closes (or 5 s pass). */
function sendRaw(port: number, c: RawCase): Promise<Outcome> {
  return new Promise((done) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const headEnd = text.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd))?.[1] ?? text.length);
      const body = Buffer.from(text.slice(headEnd + 4)).subarray(0, length).toString('utf8');
      done({ what: c.what, status, message: messageOf(body), problem: status === 0 ? `no HTTP answer: ${JSON.stringify(text.slice(0, 100))}` : checkStatusBody(status, body) });
    };
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('close', finish);
    s.on('error', () => s.destroy());
    s.setTimeout(5000, () => s.destroy());
    s.write(typeof c.data === 'string' ? c.data.replace('{{TOKEN}}', m.token) : c.data);
    if (c.end) setTimeout(() => s.end(), 100);
  });
}

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  }));
  return out;
}

/** Every stored object as kind/namespace/name; Events and controller-owned objects listed apart. */
async function snapshot(): Promise<{ own: string[]; all: string[] }> {
  const own: string[] = [];
  const all: string[] = [];
  for (const rt of registry.all()) {
    const r = await api(m, 'GET', `${API}/${rt.plural}`);
    expect(r.status).toBe(200);
    for (const o of r.body.items) {
      const id = `${rt.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      all.push(id);
      if (rt.kind === 'Event') all.push(`${id} about ${o.involvedObject?.name}`);
      else if (!o.metadata.ownerReferences?.length) own.push(id);
    }
  }
  return { own: own.sort(), all };
}

describe('bad input', () => {
  let before: { own: string[]; all: string[] };
  const created: string[] = [];

  beforeAll(async () => {
    // the flood comes from one token: unthrottled here (rate limits have their own test)
    m = await startManager({ extraArgs: ['--rate-limit', '0'], env: { DROVER_LOG_LEVEL: 'warn' } });
    for (const { rt, obj } of validObjects(registry)) {
      const path = rt.namespaced ? `${API}/namespaces/${NS}/${rt.plural}` : `${API}/${rt.plural}`;
      const r = await api(m, 'POST', path, obj);
      expect([obj.kind, (obj.metadata as { name: string }).name, r.status]).toEqual([obj.kind, (obj.metadata as { name: string }).name, 201]);
      created.push(`${rt.kind}/${rt.namespaced ? NS : ''}/${(obj.metadata as { name: string }).name}`);
    }
    before = await snapshot();
  }, 60_000);

  it('refuses thousands of malformed requests with a 4xx Status each, and stores none of them', async () => {
    const started = Date.now();
    const pid = m.pid;
    const port = Number(new URL(m.url).port);
    let restarts = 0;
    void m.exited.then(() => restarts++);
    const { http, raw } = generateCases(registry, SEED);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const outcomes = await pool(http, CONCURRENCY, (c) => send(agent, port, c));
    agent.destroy();
    for (const c of raw) outcomes.push(await sendRaw(port, c));

    // a few through the CLI: drover apply -f must refuse them naming the file and line
    const dir = tempDir('drover-bad-yaml-');
    const files: Array<[string, string, RegExp]> = [
      ['bomb.yaml', aliasBombYaml(), /bomb\.yaml:\d+:\d+: cannot load document: .*alias/],
      ['recursive.yaml', `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: ${BAD_PREFIX}rec, namespace: ${NS}}\nspec: &s {image: x, loop: [*s]}\n`, /recursive\.yaml:\d+:\d+: .*(nests deeper|alias)/],
      ['deep.yaml', `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: ${BAD_PREFIX}deep, namespace: ${NS}}\nspec: {image: x, x: ${'['.repeat(500)}${']'.repeat(500)}}\n`, /deep\.yaml:4:\d+: the document nests deeper than the limit of 64 levels/],
      ['big.yaml', `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: ${BAD_PREFIX}big, namespace: ${NS}}\nspec: {image: "${'x'.repeat(MAX_MANIFEST_BYTES)}"}\n`, /big\.yaml:1:1: file is \d+ bytes; manifests are limited to/],
      ['traversal.yaml', `apiVersion: drover.dev/v1alpha1\nkind: Container\nmetadata: {name: ../${BAD_PREFIX}x, namespace: ${NS}}\nspec: {image: x}\n`, /traversal\.yaml:3:\d+: metadata\.name: Invalid value/],
    ];
    const cli = await Promise.all(files.map(async ([name, text, want]) => {
      writeFileSync(join(dir, name), text);
      const r = await drover(['apply', '-f', join(dir, name)], { config: m.configPath });
      return { name, ok: r.code !== 0 && want.test(r.stderr), code: r.code, stderr: r.stderr.slice(0, 300) };
    }));

    const failures = outcomes.filter((o) => o.problem);
    const n4xx = outcomes.filter((o) => o.status >= 400 && o.status < 500).length;
    const n5xx = outcomes.filter((o) => o.status >= 500).length;
    const ready = await fetch(`${m.url}/readyz`);
    const alive = pidAlive(pid) && m.pid === pid;
    const summary = `bad-input: ${outcomes.length} requests, ${n4xx} 4xx, ${n5xx} 5xx, ${restarts} manager restarts`
      + ` (+${cli.filter((c) => c.ok).length}/${cli.length} drover apply -f refused; ${((Date.now() - started) / 1000).toFixed(1)} s)`;
    console.log(summary);
    const byCode: Record<number, number> = {};
    for (const o of outcomes) byCode[o.status] = (byCode[o.status] ?? 0) + 1;
    console.log(`bad-input status codes: ${JSON.stringify(byCode)}`);
    if (process.env.DROVER_BAD_INPUT_DUMP) writeFileSync(process.env.DROVER_BAD_INPUT_DUMP, outcomes.map((o) => JSON.stringify(o)).join('\n') + '\n');

    expect(outcomes.length).toBeGreaterThanOrEqual(3000);
    expect({ summary, failures: failures.slice(0, 25).map((f) => `${f.what}: ${f.problem}`), failureCount: failures.length })
      .toEqual({ summary, failures: [], failureCount: 0 });
    expect({ summary, n5xx, restarts, alive, ready: ready.status }).toEqual({ summary, n5xx: 0, restarts: 0, alive: true, ready: 200 });
    expect(cli.filter((c) => !c.ok)).toEqual([]);
    expect(m.output()).not.toMatch(/unhandled error/);

    // nothing half-written: exactly the objects created on purpose, and not one bad-* name anywhere
    const after = await snapshot();
    expect(after.own).toEqual(before.own);
    expect(created.filter((id) => !after.all.includes(id))).toEqual([]);
    expect(after.all.filter((id) => id.includes(`/${BAD_PREFIX}`) || id.includes(` about ${BAD_PREFIX}`))).toEqual([]);
  }, 180_000);
});
