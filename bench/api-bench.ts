// Store/API benchmark: starts a real manager (embedded SQLite store) on a loopback port and measures
//  1. objects created per second through the API (POST, 16 requests in flight),
//  2. watch delivery latency p50/p99 with 100 watchers (time from POST sent to event received),
//  3. manager RSS after 10,000 objects.
// Usage: node bench/api-bench.ts [--objects 10000] [--watchers 100] [--paced 500]
import { readFileSync } from 'node:fs';
import { startBenchManager, machine, sleep } from './bench-util.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const OBJECTS = Number(args.get('objects') ?? 10_000);
const WATCHERS = Number(args.get('watchers') ?? 100);
const PACED = Number(args.get('paced') ?? 500);
const IN_FLIGHT = 16;
const NS = 'default';

const b = await startBenchManager();
const { url, token } = b;
const mgr = b.proc;
const stopManager = () => b.stop();
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const base = `${url}/apis/drover.dev/v1alpha1/namespaces/${NS}/containers`;

function container(name: string) {
  return {
    apiVersion: 'drover.dev/v1alpha1', kind: 'Container',
    metadata: { name, namespace: NS, labels: { bench: 'yes' } },
    spec: { image: 'example/worker:1.0', command: ['/bin/sh', '-c', 'exec sleep infinity'], resources: { requests: { cpu: '100m', memory: '64Mi' } } },
  };
}

async function create(name: string, retried = false): Promise<void> {
  let r: Response;
  try {
    r = await fetch(base, { method: 'POST', headers, body: JSON.stringify(container(name)) });
  } catch (e) {
    // a keep-alive socket the server closed just as it was reused: resend once (a second reset is real)
    if (!retried && (e as { cause?: { code?: string } }).cause?.code === 'ECONNRESET') return create(name, true);
    throw e;
  }
  if (r.status !== 201) throw new Error(`create ${name}: HTTP ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
}

// --- watch latency -------------------------------------------------------------------------
const sentAt = new Map<string, number>();
const latencies: number[] = [];
const controllers: AbortController[] = [];
let ready = 0;
async function watcher() {
  const ac = new AbortController();
  controllers.push(ac);
  const r = await fetch(`${base}?watch=true&labelSelector=bench%3Dyes`, { headers, signal: ac.signal });
  ready++;
  const reader = r.body!.getReader();
  const dec = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line);
        const t0 = sentAt.get(ev.object?.metadata?.name);
        if (ev.type === 'ADDED' && t0 !== undefined) latencies.push(performance.now() - t0);
      }
    }
  } catch (e) {
    if ((e as Error).name !== 'AbortError') throw e;
  }
}
// A watch stream the server resets is counted and reported, not fatal to the benchmark.
let watchResets = 0;
const watchers = Array.from({ length: WATCHERS }, () => watcher().catch((e: Error & { cause?: { code?: string } }) => {
  if (e.cause?.code !== 'ECONNRESET' && e.name !== 'AbortError') throw e;
  watchResets++;
}));
while (ready + watchResets < WATCHERS) await sleep(10);
for (let i = 0; i < PACED; i++) {
  const name = `paced-${i}`;
  sentAt.set(name, performance.now());
  await create(name);
  await sleep(5);
}
const want = PACED * WATCHERS;
for (let i = 0; latencies.length < want && i < 400; i++) await sleep(25);
controllers.forEach((c) => c.abort());
await Promise.allSettled(watchers);
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];

// --- create throughput ---------------------------------------------------------------------
const remaining = OBJECTS - PACED;
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
  while (next < remaining) await create(`obj-${next++}`);
}));
const secs = (performance.now() - t0) / 1000;
await sleep(1000);
const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${mgr.pid}/status`, 'utf8'))![1]);
const list = (await (await fetch(`${base}?limit=1`, { headers })).json()) as { metadata: { remainingItemCount: number } };

console.log(`machine: ${machine()}`);
console.log(`creates through the API: ${remaining} objects in ${secs.toFixed(2)} s = ${(remaining / secs).toFixed(0)} objects/s (${IN_FLIGHT} in flight)`);
console.log(`watch delivery latency, ${WATCHERS} watchers x ${PACED} events (${latencies.length}/${want} delivered, ${watchResets} streams reset): p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms`);
console.log(`manager RSS after ${OBJECTS} objects: ${(rssKb / 1024).toFixed(0)} MiB (list reports ${list.metadata.remainingItemCount + 1} containers)`);
stopManager();
process.exit(0);
