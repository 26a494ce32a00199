// The built-in process of an agent-host Container without a command: it only has to stay up (the
// agents run beside it) and leave promptly on SIGTERM/SIGINT. Run as `node host-process.ts`.
const name = process.env.DROVER_CONTAINER ?? 'container';
process.stdout.write(`drover host process for ${name} running (pid ${process.pid})\n`);
const keepAlive = setInterval(() => undefined, 2 ** 30);
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    clearInterval(keepAlive);
    process.stdout.write(`drover host process for ${name} stopping (${sig})\n`);
    process.exit(0);
  });
}
