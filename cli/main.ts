// The drover CLI entry point (bin/drover runs this file). The program itself is in program.ts so
// that code running inside a command (drover up) can import it while this module still awaits.
import { run } from './program.ts';

export { run, buildProgram } from './program.ts';
export type { Io } from './program.ts';

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (import.meta.main) {
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(130); // a second Ctrl-C: stop waiting for a clean exit
    interrupt.abort();
  };
  // A reader piping into `head` closes early: that is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });
  const code = await run(process.argv.slice(2), {
    stdout: process.stdout, stderr: process.stderr, env: process.env, readStdin: readProcessStdin, signal: interrupt.signal,
  }, (name) => {
    // manager and up handle their own signals (graceful shutdown); every other command stops on Ctrl-C with exit 0.
    if (name !== 'manager' && name !== 'up' && name !== 'agent') process.on('SIGINT', onSigint);
  });
  process.exit(code);
}
