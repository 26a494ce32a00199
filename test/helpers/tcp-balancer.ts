// A loopback TCP load balancer in front of several managers, standing in for the VIP or load balancer a
// production HA setup puts in front of them: each new connection goes to the next backend in turn, and a
// backend that refuses the connection (a dead manager) is skipped. Open connections to a backend that dies
// break, as they would behind a real balancer; clients reconnect and land on a live one.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpBalancer {
  port: number;
  url: string;
  /** Connections accepted per backend port. */
  counts(): Map<number, number>;
  close(): Promise<void>;
}

export async function startTcpBalancer(backendPorts: number[], listenPort = 0): Promise<TcpBalancer> {
  const sockets = new Set<Socket>();
  const counts = new Map<number, number>(backendPorts.map((p) => [p, 0]));
  let next = 0;

  function dial(client: Socket, tried: number): void {
    if (tried >= backendPorts.length) {
      client.destroy();
      return;
    }
    const port = backendPorts[next++ % backendPorts.length];
    const upstream = connect(port, '127.0.0.1');
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      counts.set(port, (counts.get(port) ?? 0) + 1);
      sockets.add(upstream);
      client.once('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      if (!connected) {
        upstream.destroy();
        dial(client, tried + 1);
      }
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (connected) client.destroy();
    });
  }

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on('error', () => client.destroy());
    client.on('close', () => sockets.delete(client));
    dial(client, 0);
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(listenPort, '127.0.0.1', () => done());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    counts: () => new Map(counts),
    close: () => new Promise<void>((done) => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      server.close(() => done());
    }),
  };
}
