/**
 * Command-line flags of the deployment shapes, shared by `leechguard simulate`, `quality` and
 * `demo`: which tenants send heartbeats, and how late heartbeats arrive.
 */
import { numberArg } from '../core/cli-args.ts';
import { LeechguardError } from '../core/errors.ts';
import type { SimulationOptions } from './config.ts';

export const DEPLOYMENT_FLAGS = {
  heartbeats: { type: 'string' },
  'heartbeat-delay-ms': { type: 'string' },
  'cdn-only-share': { type: 'string' },
} as const;

export const DEPLOYMENT_USAGE = `  --heartbeats S         which tenants' players send heartbeats: all (default); some (a share of the
                         accounts in a second, CDN-logs-only tenant); none (CDN logs only)
  --cdn-only-share F     with --heartbeats some: share of accounts in the CDN-only tenant (default 0.5)
  --heartbeat-delay-ms N heartbeats arrive N ms after the CDN lines of the same moment (default 0)
`;

const SHAPES = ['all', 'some', 'none'] as const;

/** The simulation options the deployment flags set (only those given). */
export function deploymentOptions(values: {
  heartbeats?: string | undefined;
  'heartbeat-delay-ms'?: string | undefined;
  'cdn-only-share'?: string | undefined;
}): Pick<SimulationOptions, 'heartbeats' | 'heartbeatDelayMs' | 'cdnOnlyShare'> {
  const out: Pick<SimulationOptions, 'heartbeats' | 'heartbeatDelayMs' | 'cdnOnlyShare'> = {};
  if (values.heartbeats !== undefined) {
    const shape = SHAPES.find((s) => s === values.heartbeats);
    if (!shape)
      throw new LeechguardError(
        'LG_ERR_REQUEST_INVALID',
        `--heartbeats wants all, some or none, got ${values.heartbeats}`,
      );
    out.heartbeats = shape;
  }
  if (values['heartbeat-delay-ms'] !== undefined)
    out.heartbeatDelayMs = Math.round(numberArg(values['heartbeat-delay-ms'], '--heartbeat-delay-ms'));
  if (values['cdn-only-share'] !== undefined)
    out.cdnOnlyShare = numberArg(values['cdn-only-share'], '--cdn-only-share');
  return out;
}
