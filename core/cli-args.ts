/**
 * Command-line helpers shared by the CLI commands: a bad flag or value is a usage error
 * (LG_ERR_REQUEST_INVALID, exit 1 with its message), never a stack trace.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { LeechguardError } from './errors.ts';

/** parseArgs, with an unknown or malformed flag reported as a usage error (with `usage` appended). */
export function parseArgsOrFail<T extends ParseArgsConfig>(
  config: T,
  usage?: string,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const message = usage ? `${(err as Error).message}\n${usage}` : (err as Error).message;
    throw new LeechguardError('LG_ERR_REQUEST_INVALID', message, { cause: err });
  }
}

/** A numeric flag value; `positive` also refuses zero and negatives. */
export function numberArg(text: string, flag: string, options: { positive?: boolean } = {}): number {
  const n = Number(text);
  if (!Number.isFinite(n) || (options.positive && n <= 0)) {
    const wanted = options.positive ? 'a positive number' : 'a number';
    throw new LeechguardError('LG_ERR_REQUEST_INVALID', `${flag} wants ${wanted}, got ${text}`);
  }
  return n;
}
