/**
 * A TCP proxy on 127.0.0.1 for fault tests: it forwards to a real service until the test cuts it
 * (every connection reset, new ones refused), freezes it (connections stay open but no byte moves
 * either way: a half-open peer), or holds a connection's client-to-server bytes from the first
 * chunk a predicate picks (so a test can stop a given command from reaching the server and release
 * it when it chooses, instead of racing a timer against it).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** host:port clients connect to. */
  readonly host: string;
  readonly port: number;
  /** Resets every open connection and refuses new ones until restore(). */
  cut(): void;
  /** Open connections stay open but nothing is forwarded; new ones are accepted and stall too. */
  freeze(): void;
  /** Forwards again (after cut or freeze); bytes held by freeze or hold are delivered in order. */
  restore(): void;
  /** From the first client chunk `pick` accepts, that connection's upstream bytes wait for restore(). */
  holdWhen(pick: (chunk: Buffer) => boolean): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  held: boolean;
  toServer: Buffer[];
  toClient: Buffer[];
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let mode: 'open' | 'cut' | 'frozen' = 'open';
  let pick: ((chunk: Buffer) => boolean) | undefined;

  const flush = (p: Pair) => {
    if (mode !== 'open') return;
    if (!p.held) for (const b of p.toServer.splice(0)) p.upstream.write(b);
    for (const b of p.toClient.splice(0)) p.client.write(b);
  };

  const server: Server = createServer((client) => {
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    const p: Pair = { client, upstream, held: false, toServer: [], toClient: [] };
    pairs.add(p);
    const drop = () => {
      pairs.delete(p);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk) => {
      if (pick?.(chunk)) p.held = true;
      p.toServer.push(chunk);
      flush(p);
    });
    upstream.on('data', (chunk) => {
      p.toClient.push(chunk);
      flush(p);
    });
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');

  return {
    host: '127.0.0.1',
    port: address.port,
    cut() {
      mode = 'cut';
      for (const p of pairs) {
        p.client.resetAndDestroy();
        p.upstream.destroy();
      }
      pairs.clear();
    },
    freeze() {
      mode = 'frozen';
    },
    restore() {
      mode = 'open';
      pick = undefined;
      for (const p of pairs) {
        p.held = false;
        flush(p);
      }
    },
    holdWhen(fn) {
      pick = fn;
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
