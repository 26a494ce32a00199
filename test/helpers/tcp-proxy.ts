// A loopback TCP proxy between a node agent and the manager, so a test can cut the network between
// them (a partition) while both processes stay alive — then heal it.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  url: string;
  /** Drop every open connection and refuse new ones (like a partition that resets). */
  cut(): Promise<void>;
  heal(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, listenPort = 0): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = listenPort;

  const listen = () =>
    new Promise<void>((done, fail) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1');
        sockets.add(client);
        sockets.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
        client.pipe(upstream).pipe(client);
      });
      s.on('error', fail);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as { port: number }).port;
        server = s;
        done();
      });
    });

  const stop = () =>
    new Promise<void>((done) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (!server) return done();
      server.close(() => done());
      server = undefined;
    });

  await listen();
  return {
    get port() { return port; },
    get url() { return `http://127.0.0.1:${port}`; },
    cut: stop,
    heal: async () => { if (!server) await listen(); },
    close: stop,
  };
}
