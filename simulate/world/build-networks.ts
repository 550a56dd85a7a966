/**
 * Builds simulate/world/networks.generated.ts: real IPv4 blocks of real ASNs, each /24 of which the
 * bundled databases (@ip-location-db/asn + geolite2-country) place in the expected country, so the
 * ingest's enrichment sees the country and ASN the simulator meant. Run after upgrading those
 * packages: `node simulate/world/build-networks.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type CountryResponse, Reader } from 'maxmind';
import { CANDIDATE_NETWORKS, EXTRA_CANDIDATE_NETWORKS } from './candidates.ts';
import type { CandidateNetwork } from './types.ts';

const BLOCK_SLASH24S = 32; // /24s per block: plenty of networks per ASN for a CGNAT pool or commuter
const BLOCKS_PER_ASN_MAX = 4;
const SCATTERED_RUNS_MAX = 8; // runs of /24s taken from an operator spread over many countries

const root = new URL('../../node_modules/@ip-location-db/', import.meta.url);
const geo = new Reader<CountryResponse>(
  readFileSync(new URL('geolite2-country-mmdb/geolite2-country-ipv4.mmdb', root)),
);
const csv = readFileSync(new URL('asn/asn-ipv4-num.csv', root), 'utf8');

const wanted = new Map([...CANDIDATE_NETWORKS, ...EXTRA_CANDIDATE_NETWORKS].map((c) => [c.asn, c]));
const rangesByAsn = new Map<number, Array<[number, number]>>();
for (const line of csv.split('\n')) {
  if (!line) continue;
  const [a, b, asnText] = line.split(',');
  const asn = Number(asnText);
  if (!wanted.has(asn)) continue;
  const list = rangesByAsn.get(asn) ?? [];
  list.push([Number(a), Number(b)]);
  rangesByAsn.set(asn, list);
}

const geo6 = new Reader<CountryResponse>(
  readFileSync(new URL('geolite2-country-mmdb/geolite2-country-ipv6.mmdb', root)),
);
const csv6 = readFileSync(new URL('asn/asn-ipv6-num.csv', root), 'utf8');
const BLOCK6_SLASH48S = 256; // one /40 of /48s per fixed-line ASN with IPv6
const rangesByAsn6 = new Map<number, Array<[bigint, bigint]>>();
for (const line of csv6.split('\n')) {
  if (!line) continue;
  const [a, b, asnText] = line.split(',');
  const asn = Number(asnText);
  const c = wanted.get(asn);
  if (c?.kind !== 'fixed' && c?.kind !== 'mobile') continue;
  const list = rangesByAsn6.get(asn) ?? [];
  list.push([BigInt(a as string), BigInt(b as string)]);
  rangesByAsn6.set(asn, list);
}

/** A /48 (its top 48 bits as a number) in text: the three leading hextets. */
function prefix48Text(p: number): string {
  return [Math.floor(p / 2 ** 32) & 0xffff, Math.floor(p / 2 ** 16) & 0xffff, p & 0xffff]
    .map((h) => h.toString(16))
    .join(':');
}

/** First /40 of the ASN's IPv6 space whose sampled /48s all map to the country, as [first /48, count]. */
function ipv6Block(asn: number, country: string): [number, number] | null {
  const size = BigInt(BLOCK6_SLASH48S) << 80n;
  for (const [start, end] of rangesByAsn6.get(asn) ?? []) {
    const first = ((start + size - 1n) / size) * size;
    if (first + size - 1n > end) continue;
    const p48 = Number(first >> 80n);
    let ok = true;
    for (let i = 0; i < BLOCK6_SLASH48S && ok; i += 17) {
      const text = `${prefix48Text(p48 + i)}:1::1`;
      if ((geo6.get(text) as { country_code?: string } | null)?.country_code !== country) ok = false;
      // Two zero hextets in a row would need '::' compression: keep prefixes whose text is canonical as is.
      if (/(^|:)0:0(:|$)/.test(prefix48Text(p48 + i))) ok = false;
    }
    if (ok) return [p48, BLOCK6_SLASH48S];
  }
  return null;
}

function ipText(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Whether both ends of the /24 at base geolocate to the country. */
function slash24In(base: number, country: string): boolean {
  return [1, 254].every(
    (host) => (geo.get(ipText(base + host)) as { country_code?: string } | null)?.country_code === country,
  );
}

type Candidate = CandidateNetwork & { scattered?: boolean };

/** Blocks of whole /24s of the candidate's ASN that the country database places in its country. */
function ipv4Blocks(c: Candidate): Array<[number, number]> {
  const blocks: Array<[number, number]> = [];
  for (const [start, end] of rangesByAsn.get(c.asn) ?? []) {
    const first24 = Math.ceil(start / 256) * 256;
    const count = Math.floor((end + 1 - first24) / 256);
    if (c.scattered) {
      // Runs of consecutive /24s in the country, each /24 checked.
      let run: [number, number] | null = null;
      for (let i = 0; i < count && blocks.length < SCATTERED_RUNS_MAX; i++) {
        const base = first24 + i * 256;
        if (!slash24In(base, c.country)) run = null;
        else if (run && run[1] < BLOCK_SLASH24S) run[1]++;
        else {
          run = [base, 1];
          blocks.push(run);
        }
      }
      if (blocks.length >= SCATTERED_RUNS_MAX) break;
      continue;
    }
    if (blocks.length >= BLOCKS_PER_ASN_MAX) break;
    if (count < BLOCK_SLASH24S) continue;
    let ok = true;
    for (let i = 0; i < BLOCK_SLASH24S && ok; i++) if (!slash24In(first24 + i * 256, c.country)) ok = false;
    if (ok) blocks.push([first24, BLOCK_SLASH24S]);
  }
  return blocks;
}

function specs(candidates: ReadonlyArray<Candidate>): string[] {
  const out: string[] = [];
  for (const c of candidates) {
    const blocks = ipv4Blocks(c);
    if (blocks.length === 0) {
      process.stderr.write(`skip AS${c.asn} ${c.name} (${c.country}): no block maps to ${c.country}\n`);
      continue;
    }
    const v6 = c.kind === 'fixed' || c.kind === 'mobile' ? ipv6Block(c.asn, c.country) : null;
    out.push(
      `  { country: '${c.country}', asn: ${c.asn}, name: ${JSON.stringify(c.name)}, kind: '${c.kind}', blocks: ${JSON.stringify(blocks)}${v6 ? `, blocks6: [${JSON.stringify(v6)}]` : ''} },`,
    );
  }
  return out;
}

const out = specs(CANDIDATE_NETWORKS);
const extra = specs(EXTRA_CANDIDATE_NETWORKS);

const text = `// Generated by simulate/world/build-networks.ts from @ip-location-db (asn, geolite2-country). Do not edit.
import type { NetworkSpec } from './types.ts';

/** Real blocks: IPv4 [first address as uint32, number of /24s]; IPv6 [first /48 as its top 48 bits, number of /48s]; verified against country and ASN. */
export const NETWORKS: ReadonlyArray<NetworkSpec> = [
${out.join('\n')}
];

/** Networks of the geolocation-error classes (candidates.ts, EXTRA_CANDIDATE_NETWORKS), built the same way. */
export const EXTRA_NETWORKS: ReadonlyArray<NetworkSpec> = [
${extra.join('\n')}
];
`;
writeFileSync(new URL('./networks.generated.ts', import.meta.url), text);
process.stdout.write(`wrote ${out.length} + ${extra.length} networks\n`);
