/**
 * Keyed hashing of playback tokens: HMAC-SHA256 under a configured secret, rotatable by key id.
 * Raw tokens are never stored or logged; every record and every denylist key carries this hash.
 * During a rotation the edge may hash with every active key to find an entry made under the old one.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { DEMO_TOKEN_HASHING_KEY } from './secrets.ts';

export const tokenHashingSection = z
  .object({
    /** Key id used for new hashes. */
    currentKeyId: z.string().min(1).default('k1'),
    /** Secrets by key id; at least 32 chars. Keep retired keys until their tokens have expired. */
    keys: z
      .record(z.string(), z.string().min(32))
      // Public: services refuse to boot with it outside the demo and tests (core/secrets.ts).
      .default({ k1: DEMO_TOKEN_HASHING_KEY }),
  })
  .strict()
  .refine((s) => s.currentKeyId in s.keys, { message: 'currentKeyId must name one of keys' });

export type TokenHashingConfig = z.infer<typeof tokenHashingSection>;

export interface TokenHash {
  keyId: string;
  /** Hex HMAC-SHA256. */
  hash: string;
}

export class TokenHasher {
  private readonly keys: ReadonlyMap<string, string>;
  readonly currentKeyId: string;

  /** Key ids, the current one first. */
  private readonly keyOrder: readonly string[];

  constructor(config: TokenHashingConfig) {
    this.keys = new Map(Object.entries(config.keys));
    this.currentKeyId = config.currentKeyId;
    this.keyOrder = [this.currentKeyId, ...[...this.keys.keys()].filter((k) => k !== this.currentKeyId)];
  }

  hash(token: string): TokenHash {
    return { keyId: this.currentKeyId, hash: this.hashWith(this.currentKeyId, token) };
  }

  /** Hashes under every configured key (current first), for lookups during a rotation. */
  hashAll(token: string): TokenHash[] {
    return this.keyOrder.map((keyId) => ({ keyId, hash: this.hashWith(keyId, token) }));
  }

  /**
   * Keyed MACs of `text` for another purpose under the same keys (current first). Each key is
   * first derived for `purpose` (HMAC of the purpose name), so a MAC never equals a token hash.
   */
  macAll(purpose: string, text: string): TokenHash[] {
    return this.keyOrder.map((keyId) => {
      const id = `${purpose}\u0000${keyId}`;
      let key = this.derived.get(id);
      if (key === undefined) {
        key = createHmac('sha256', this.keys.get(keyId)!).update(`leechguard purpose ${purpose}`).digest();
        this.derived.set(id, key);
      }
      return { keyId, hash: createHmac('sha256', key).update(text).digest('hex') };
    });
  }

  private readonly derived = new Map<string, Buffer>();

  private hashWith(keyId: string, token: string): string {
    const secret = this.keys.get(keyId);
    if (secret === undefined) throw new Error(`unknown token hashing key id ${keyId}`);
    return createHmac('sha256', secret).update(token).digest('hex');
  }
}
