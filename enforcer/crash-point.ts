/**
 * Test hook for crash-consistency tests: `LEECHGUARD_ENF_CRASH_AT=<point>` makes the enforcer
 * SIGKILL itself at that point, the first time it gets there with work in hand. Unset in
 * production; the points are named after what has and has not been made durable yet.
 *   after-redis-write – denylist entries written, revocation records not yet produced
 *   before-commit     – Redis and Kafka have everything, the flags' offsets are not committed
 */
import type { Logger } from '../core/log.ts';

export const CRASH_POINTS = ['after-redis-write', 'before-commit'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number] | undefined;

/** Reads the crash point from the environment; an unknown name is refused at boot. */
export function crashPointFromEnv(env: NodeJS.ProcessEnv = process.env): CrashPoint {
  const value = env.LEECHGUARD_ENF_CRASH_AT;
  if (!value) return undefined;
  if (!(CRASH_POINTS as readonly string[]).includes(value)) {
    throw new Error(`LEECHGUARD_ENF_CRASH_AT=${value}: expected one of ${CRASH_POINTS.join(', ')}`);
  }
  return value as CrashPoint;
}

/** SIGKILLs the process when `point` is the configured one; never returns in that case. */
export async function crashIfAt(point: CrashPoint, configured: CrashPoint, logger: Logger): Promise<void> {
  if (point === undefined || point !== configured) return;
  logger.warn({ point }, 'crash point reached: SIGKILL');
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => {}); // never continue past the crash point
}
