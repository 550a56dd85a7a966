/**
 * Sends the session script calls made in one turn of the event loop as one Redis pipeline: one
 * socket write and one read for all of them, instead of one each.
 *
 * ioredis's auto-pipelining flushes on `process.nextTick`, which Node runs after every I/O
 * callback: each HTTP request arrives in its own callback, so each of its script calls left in its
 * own write (measured: the Redis write was as costly as the HTTP reply write). Flushing on
 * `setImmediate` instead collects every request the poll phase handed over in that turn; the wait
 * is at most the rest of the turn. Order of calls is kept (a pipeline is executed in order).
 */
import type { Redis } from 'ioredis';

type Arg = string | number;

interface Pending {
  args: Arg[];
  resolve: (reply: string) => void;
  reject: (err: unknown) => void;
}

type PipelineWithScript = Record<string, (...args: Arg[]) => unknown> & {
  exec(): Promise<Array<[Error | null, unknown]> | null>;
};

export class ScriptBatch {
  private readonly redis: Redis;
  private readonly command: string;
  private queue: Pending[] = [];
  private scheduled = false;
  /** A pipeline awaits its replies: calls queue behind it and leave together when it is back. */
  private inFlight = false;

  /** `command`: a script defined on `redis` with `defineCommand`. */
  constructor(redis: Redis, command: string) {
    this.redis = redis;
    this.command = command;
  }

  call(...args: Arg[]): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.queue.push({ args, resolve, reject });
      if (!this.scheduled && !this.inFlight) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const calls = this.queue;
    this.queue = [];
    this.inFlight = true;
    const pipeline = this.redis.pipeline() as unknown as PipelineWithScript;
    for (const c of calls) pipeline[this.command]!(...c.args);
    pipeline
      .exec()
      .then(
        (results) => {
          for (let i = 0; i < calls.length; i++) {
            const r = results?.[i];
            if (!r) calls[i]!.reject(new Error('redis pipeline returned no reply'));
            else if (r[0]) calls[i]!.reject(r[0]);
            else calls[i]!.resolve(r[1] as string);
          }
        },
        (err: unknown) => {
          for (const c of calls) c.reject(err);
        },
      )
      .finally(() => {
        this.inFlight = false;
        if (this.queue.length > 0 && !this.scheduled) {
          this.scheduled = true;
          setImmediate(this.flush);
        }
      });
  };
}
