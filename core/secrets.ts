/**
 * Refuses to boot with a secret that is public: the built-in development token-hashing key, the
 * `change-me` / example values the configs in config/ ship, or one too short to resist guessing.
 * Session-id MACs and every token hash derive from the token-hashing key, so a public one lets
 * anyone forge them. `leechguard demo` (and tests) start the services without this check; a local
 * `docker compose up` opts out with LEECHGUARD_INSECURE_DEMO_SECRETS=1.
 */
import { LeechguardError } from './errors.ts';
import { LIMITS } from './limits.ts';

/** The built-in token-hashing key: public, for the demo and tests only. */
export const DEMO_TOKEN_HASHING_KEY = 'leechguard-local-development-key-change-me!';

/** Words that mark a value as an example someone was meant to replace. */
const EXAMPLE_MARKERS = /change-?me|changeit|example|placeholder|your-?(?:key|secret)|insecure|demo|default/i;

/** Config paths that hold secrets (dotted, array indexes as numbers). */
const SECRET_PATH =
  /(?:^|\.)(?:apiKeys\.\d+\.key|sources\.\d+\.key|tokenHashing\.keys\.[^.]+|sasl\.password|sasl\.clientSecret|registry\.password|hmacSecrets\.[^.]+)$/;

function* secrets(node: unknown, path: string): Generator<[string, string]> {
  if (typeof node === 'string') {
    if (SECRET_PATH.test(path)) yield [path, node];
  } else if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* secrets(node[i], path ? `${path}.${i}` : String(i));
  } else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) yield* secrets(v, path ? `${path}.${k}` : k);
  }
}

/** Each public or short secret of a config, as `path: why`. Pure. */
export function weakSecrets(config: unknown): string[] {
  const problems: string[] = [];
  for (const [path, value] of secrets(config, '')) {
    if (value === DEMO_TOKEN_HASHING_KEY) problems.push(`${path}: is the built-in development key`);
    else if (EXAMPLE_MARKERS.test(value)) problems.push(`${path}: is an example value`);
    else if (value.length < LIMITS.secretCharsMin)
      problems.push(`${path}: is shorter than ${LIMITS.secretCharsMin} characters`);
  }
  return problems;
}

/** The environment variable that lets a local demo boot with the example configs' public keys. */
export const INSECURE_DEMO_SECRETS_ENV = 'LEECHGUARD_INSECURE_DEMO_SECRETS';

/**
 * Throws LG_ERR_CONFIG_WEAK_SECRET naming every public or short secret of `config`, unless the
 * environment opts into demo secrets.
 */
export function refuseWeakSecrets(
  service: string,
  config: unknown,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (env[INSECURE_DEMO_SECRETS_ENV] === '1') return;
  const problems = weakSecrets(config);
  if (problems.length === 0) return;
  throw new LeechguardError(
    'LG_ERR_CONFIG_WEAK_SECRET',
    `${service}: ${problems.join('; ')}. Generate each secret with \`openssl rand -hex 32\``,
    { details: { problems } },
  );
}
