/** Waiting in tests for a condition the test names, never for a fixed time. */

/** How long `waitFor` waits by default: long enough for a busy shared stack, short enough to fail. */
export const WAIT_TIMEOUT_MS = 20_000;
/** How often `waitFor` checks by default; a timing property passes its own, finer step. */
export const WAIT_POLL_MS = 50;

/**
 * Checks `check` until it returns a value other than undefined / false and returns that value;
 * throws `timed out waiting for <what>` once `timeoutMs` has passed without one. `what` may be a
 * function, read only on timeout, so the message can say what was seen by then. An error thrown
 * by `check` is not retried: a probe that may fail while the thing starts catches it itself.
 */
export async function waitFor<T>(
  what: string | (() => string),
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = WAIT_TIMEOUT_MS,
  pollMs = WAIT_POLL_MS,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (performance.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
