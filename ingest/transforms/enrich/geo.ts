/**
 * Country and ASN of a client address. Order of trust: what the CDN logged (done by the caller),
 * then operator-supplied MaxMind databases (GeoIP2/GeoLite2 Country or City, ASN), then the
 * bundled databases: @ip-location-db/geolite2-country-mmdb (country, via the maxmind reader) and
 * @ip-location-db/asn (CSV ranges, binary search in typed arrays; CC BY 4.0: RouteViews, DB-IP, NRO).
 * Loaded once at boot (the ASN CSV takes a few hundred ms); lookups are synchronous.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Reader } from 'maxmind';
import { z } from 'zod';
import { ipv4Number, ipv6Groups } from './network.ts';

export const geoSection = z
  .object({
    /** Operator MaxMind country (or city) database; overrides the bundled one. */
    countryMmdbPath: z.string().optional(),
    /** Operator MaxMind ASN database (GeoLite2-ASN / GeoIP2-ISP); overrides the bundled CSV. */
    asnMmdbPath: z.string().optional(),
    /** Use the bundled databases when no operator file is given (off: only what the log says). */
    bundled: z.boolean().default(true),
  })
  .strict();
export type GeoConfig = z.infer<typeof geoSection>;

export interface GeoAnswer {
  country: string | null;
  asn: number | null;
}

/** What enrichment needs from a geo source: two synchronous lookups. */
export interface GeoResolver {
  country(ip: string): string | null;
  asn(ip: string): number | null;
}

export const NO_GEO: GeoResolver = { country: () => null, asn: () => null };

const require_ = createRequire(import.meta.url);

function packageFile(pkg: string, file: string): string {
  return join(dirname(require_.resolve(`${pkg}/package.json`)), file);
}

interface CountryRecord {
  country_code?: string;
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
}
interface AsnRecord {
  autonomous_system_number?: number;
}

/** Sorted IPv4 ranges and IPv6 ranges (as BigInt) with their ASN. */
export class AsnRanges {
  private readonly v4Start: Uint32Array;
  private readonly v4End: Uint32Array;
  private readonly v4Asn: Uint32Array;
  private readonly v6Start: bigint[];
  private readonly v6End: bigint[];
  private readonly v6Asn: Uint32Array;

  constructor(v4Csv: string, v6Csv: string) {
    const v4 = parseNumCsv(v4Csv);
    this.v4Start = Uint32Array.from(v4.starts, Number);
    this.v4End = Uint32Array.from(v4.ends, Number);
    this.v4Asn = Uint32Array.from(v4.asns);
    const v6 = parseNumCsv(v6Csv);
    this.v6Start = v6.starts.map((s) => BigInt(s));
    this.v6End = v6.ends.map((s) => BigInt(s));
    this.v6Asn = Uint32Array.from(v6.asns);
  }

  static bundled(): AsnRanges {
    return new AsnRanges(
      readFileSync(packageFile('@ip-location-db/asn', 'asn-ipv4-num.csv'), 'utf8'),
      readFileSync(packageFile('@ip-location-db/asn', 'asn-ipv6-num.csv'), 'utf8'),
    );
  }

  lookup(ip: string): number | null {
    const n = ipv4Number(ip);
    if (n !== null) return search(this.v4Start, this.v4End, this.v4Asn, n);
    const g = ipv6Groups(ip);
    if (!g) return null;
    let x = 0n;
    for (const group of g) x = (x << 16n) | BigInt(group);
    return search(this.v6Start, this.v6End, this.v6Asn, x);
  }
}

function parseNumCsv(csv: string): { starts: string[]; ends: string[]; asns: number[] } {
  const starts: string[] = [];
  const ends: string[] = [];
  const asns: number[] = [];
  let pos = 0;
  while (pos < csv.length) {
    let nl = csv.indexOf('\n', pos);
    if (nl === -1) nl = csv.length;
    const c1 = csv.indexOf(',', pos);
    const c2 = csv.indexOf(',', c1 + 1);
    const c3 = csv.indexOf(',', c2 + 1);
    if (c1 > pos && c2 > c1 && c2 < nl) {
      starts.push(csv.slice(pos, c1));
      ends.push(csv.slice(c1 + 1, c2));
      asns.push(Number(csv.slice(c2 + 1, c3 === -1 || c3 > nl ? nl : c3)));
    }
    pos = nl + 1;
  }
  return { starts, ends, asns };
}

function search<T extends number | bigint>(
  starts: ArrayLike<T>,
  ends: ArrayLike<T>,
  asns: Uint32Array,
  x: T,
): number | null {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid]! <= x) lo = mid + 1;
    else hi = mid - 1;
  }
  // hi: last range starting at or before x.
  if (hi >= 0 && x <= ends[hi]!) return asns[hi]!;
  return null;
}

function unmapped(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** Builds the resolver from config: operator files first, bundled databases as the fallback. */
export function createGeoResolver(config: GeoConfig): GeoResolver {
  const countryPath =
    config.countryMmdbPath ??
    (config.bundled
      ? packageFile('@ip-location-db/geolite2-country-mmdb', 'geolite2-country.mmdb')
      : undefined);
  const countryReader = countryPath
    ? (new Reader(readFileSync(countryPath)) as unknown as { get(ip: string): CountryRecord | null })
    : null;
  const asnReader = config.asnMmdbPath
    ? (new Reader(readFileSync(config.asnMmdbPath)) as unknown as { get(ip: string): AsnRecord | null })
    : null;
  const asnRanges = !asnReader && config.bundled ? AsnRanges.bundled() : null;
  return {
    country(ipRaw) {
      if (!countryReader) return null;
      try {
        const r = countryReader.get(unmapped(ipRaw));
        const cc = r?.country_code ?? r?.country?.iso_code ?? r?.registered_country?.iso_code;
        return cc && /^[A-Z]{2}$/.test(cc) ? cc : null;
      } catch {
        return null;
      }
    },
    asn(ipRaw) {
      const ip = unmapped(ipRaw);
      if (asnReader) {
        try {
          return asnReader.get(ip)?.autonomous_system_number ?? null;
        } catch {
          return null;
        }
      }
      return asnRanges ? asnRanges.lookup(ip) : null;
    },
  };
}
