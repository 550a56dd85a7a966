/**
 * A client that uploads a large body slowly enough to see when the server answers: it writes the
 * body chunk by chunk and stops as soon as a status line arrives. `sentBytes` below `totalBytes`
 * means the server answered before reading the whole body (it refused without buffering it).
 */
import { once } from 'node:events';
import { connect } from 'node:net';

export interface UploadOutcome {
  status: number;
  /** Body bytes handed to the socket before the answer arrived (or the server closed). */
  sentBytes: number;
  /** The answer's head and whatever body arrived with it. */
  answer: string;
}

const CHUNK = Buffer.alloc(64 * 1024, 'a');

export async function uploadUntilAnswered(
  url: string,
  path: string,
  headers: Record<string, string>,
  totalBytes: number,
): Promise<UploadOutcome> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  let answer = '';
  let stopped = false;
  const ended = new Promise<void>((resolve) => {
    const stop = () => {
      stopped = true;
      resolve();
    };
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n\r\n')) stop();
    });
    socket.on('close', stop);
    // The server may close while we are still sending: that is the behaviour under test.
    socket.on('error', stop);
  });
  const head = [
    `POST ${path} HTTP/1.1`,
    `host: ${hostname}:${port}`,
    `content-length: ${totalBytes}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n');
  socket.write(head);
  let sentBytes = 0;
  while (!stopped && sentBytes < totalBytes) {
    const n = Math.min(CHUNK.length, totalBytes - sentBytes);
    const flushed = socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
    sentBytes += n;
    if (!flushed) await Promise.race([once(socket, 'drain').catch(() => {}), ended]);
  }
  await ended;
  socket.destroy();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
  return { status, sentBytes, answer };
}
