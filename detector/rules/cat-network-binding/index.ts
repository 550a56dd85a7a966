/**
 * cat-network-binding: a Common Access Token (CTA-5007) bound to networks by its `catnip` claim
 * (ASNs, addresses, prefixes) presented from networks outside that binding. The edge may refuse
 * those requests, but it logs them: a token showing up on several networks it was not issued for
 * has been handed on. Outside networks are counted by ASN (a request without one is not counted),
 * so a phone moving between the cells of one carrier is one network, and one outside network is
 * tolerated by default (an address whose ASN the issuer's database and ours disagree on).
 */
import { z } from 'zod';
import { inPrefix, ipBytes } from '../../../core/ip.ts';
import type { Rule } from '../kit.ts';
import { type SpreadSpec, spreadApply, spreadNamespaces } from '../spread.ts';

export const catNetworkBindingConfig = z
  .object({
    enabled: z.boolean().default(true),
    /** How long an outside network counts against a token, ms (CAT lifetimes are minutes to hours). */
    windowMs: z
      .number()
      .int()
      .positive()
      .default(60 * 60_000),
    /** Distinct ASNs outside the binding tolerated per token. */
    maxOutsideNetworks: z.number().int().nonnegative().default(1),
  })
  .strict();
export type CatNetworkBindingConfig = z.infer<typeof catNetworkBindingConfig>;

const SPEC: SpreadSpec = {
  rule: 'cat-network-binding',
  ns: spreadNamespaces('cat-network-binding'),
  primary: 'asns',
  secondary: 'networks',
  note: (n, max, w) =>
    `CAT presented from ${n} networks outside its catnip binding in ${w / 60_000} min (max ${max})`,
};

/**
 * Whether a request from `asn` / `clientIp` is inside the binding `entries` (ingest's catNip text:
 * `AS<n>`, `ip:<address>`, `cidr:<address>/<bits>`): true when one entry matches, false when every
 * entry could be checked and none matches, null when an entry could not be checked (an unknown
 * entry, or the request lacks the ASN / address it needs): never "outside" on a guess.
 */
export function insideBinding(
  entries: readonly string[],
  asn: number | null,
  clientIp: string | null,
): boolean | null {
  let undecided = false;
  let address: Buffer | null | undefined; // parsed on first need
  const addr = () => {
    if (address === undefined) address = clientIp === null ? null : ipBytes(clientIp);
    return address;
  };
  for (const e of entries) {
    if (e.startsWith('AS')) {
      const n = Number(e.slice(2));
      if (asn === null || !Number.isInteger(n)) undecided = true;
      else if (asn === n) return true;
    } else if (e.startsWith('ip:')) {
      const bound = ipBytes(e.slice(3));
      const a = addr();
      if (bound === null || a === null) undecided = true;
      else if (bound.equals(a)) return true;
    } else if (e.startsWith('cidr:')) {
      const slash = e.lastIndexOf('/');
      const network = slash > 5 ? ipBytes(e.slice(5, slash)) : null;
      const bits = Number(e.slice(slash + 1));
      const a = addr();
      if (network === null || a === null || !Number.isInteger(bits)) undecided = true;
      else if (inPrefix(a, network, bits)) return true;
    } else {
      undecided = true;
    }
  }
  return undecided ? null : false;
}

export const catNetworkBinding: Rule<CatNetworkBindingConfig> = {
  name: 'cat-network-binding',
  configSchema: catNetworkBindingConfig,
  horizonMs: (c) => c.windowMs,
  apply(view, event, config, ctx, out) {
    if (event.kind !== 'request') return;
    const v = event.value;
    const binding = v.catNip;
    if (binding === null || binding.length === 0) return;
    const subject = v.tokenHash ?? (v.tokenId === null ? null : `cti:${v.tokenId}`);
    if (subject === null) return;
    // Counted by ASN only: a phone changing cells stays one network, and the evidence is all ASNs.
    if (v.asn === null || insideBinding(binding, v.asn, v.clientIp) !== false) return;
    spreadApply(
      SPEC,
      view,
      event,
      'token',
      subject,
      String(v.asn),
      config.windowMs,
      config.maxOutsideNetworks,
      ctx,
      out,
    );
  },
};
