/**
 * Country and ASN of a client address. Order of trust: what the CDN logged (done by the caller),
 * then operator-supplied MaxMind databases (GeoIP2/GeoLite2 Country or City, ASN), then the
 * bundled databases: @ip-location-db/geolite2-country-mmdb (country, via the maxmind reader) and
 * @ip-location-db/asn (CSV ranges, binary search in typed arrays; CC BY 4.0: RouteViews, DB-IP, NRO).
 * Loaded once per process (the ASN CSV takes a few hundred ms) onto shared memory that ingest's
 * batch workers read without a copy; lookups are synchronous.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Reader } from 'maxmind';
import { z } from 'zod';
import { ipv4Number, ipv6Groups, unmapped } from '../../../core/ip.ts';

export const geoSection = z
  .object({
    /**
     * Operator MaxMind country or City database (GeoIP2 / GeoLite2 City, or a commercial one in the
     * same format); overrides the bundled one. A City database also gives each address a position and
     * its accuracy radius, which the geographic rules use as that position's uncertainty.
     */
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

/** A position from a City database: degrees, and the radius the address may be anywhere in, km. */
export interface GeoPosition {
  latitude: number;
  longitude: number;
  accuracyKm: number;
}

/** What enrichment needs from a geo source: synchronous lookups. */
export interface GeoResolver {
  country(ip: string): string | null;
  asn(ip: string): number | null;
  /** The address's position with its accuracy radius; null without a City database. */
  position(ip: string): GeoPosition | null;
}

export const NO_GEO: GeoResolver = { country: () => null, asn: () => null, position: () => null };

const require_ = createRequire(import.meta.url);

function packageFile(pkg: string, file: string): string {
  return join(dirname(require_.resolve(`${pkg}/package.json`)), file);
}

interface CountryRecord {
  country_code?: string;
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
  /** City databases only. accuracy_radius is in km. */
  location?: { latitude?: number; longitude?: number; accuracy_radius?: number };
}
interface AsnRecord {
  autonomous_system_number?: number;
}

/**
 * The ASN ranges as flat typed arrays on SharedArrayBuffers, so ingest's batch workers read one
 * copy (the bundled CSV is ~35 MB of text, ~20 MB as tables). IPv6 bounds are 128-bit numbers kept
 * as (high, low) 64-bit halves.
 */
export interface AsnTables {
  v4Start: Uint32Array;
  v4End: Uint32Array;
  v4Asn: Uint32Array;
  v6StartHi: BigUint64Array;
  v6StartLo: BigUint64Array;
  v6EndHi: BigUint64Array;
  v6EndLo: BigUint64Array;
  v6Asn: Uint32Array;
}

const MASK_64 = (1n << 64n) - 1n;

function sharedU32(values: ArrayLike<number>): Uint32Array {
  const out = new Uint32Array(new SharedArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) out[i] = values[i]!;
  return out;
}

function sharedU64(length: number): BigUint64Array {
  return new BigUint64Array(new SharedArrayBuffer(length * 8));
}

/** Parses the bundled `*-num.csv` files (start,end,asn,...) into shared tables. */
export function asnTablesFromCsv(v4Csv: string, v6Csv: string): AsnTables {
  const v4 = parseNumCsv(v4Csv);
  const v6 = parseNumCsv(v6Csv);
  const n6 = v6.starts.length;
  const t: AsnTables = {
    v4Start: sharedU32(v4.starts.map(Number)),
    v4End: sharedU32(v4.ends.map(Number)),
    v4Asn: sharedU32(v4.asns),
    v6StartHi: sharedU64(n6),
    v6StartLo: sharedU64(n6),
    v6EndHi: sharedU64(n6),
    v6EndLo: sharedU64(n6),
    v6Asn: sharedU32(v6.asns),
  };
  for (let i = 0; i < n6; i++) {
    const s = BigInt(v6.starts[i]!);
    const e = BigInt(v6.ends[i]!);
    t.v6StartHi[i] = s >> 64n;
    t.v6StartLo[i] = s & MASK_64;
    t.v6EndHi[i] = e >> 64n;
    t.v6EndLo[i] = e & MASK_64;
  }
  return t;
}

/** Sorted IPv4 ranges and IPv6 ranges with their ASN; lookups by binary search. */
export class AsnRanges {
  private readonly t: AsnTables;

  constructor(tables: AsnTables) {
    this.t = tables;
  }

  static fromCsv(v4Csv: string, v6Csv: string): AsnRanges {
    return new AsnRanges(asnTablesFromCsv(v4Csv, v6Csv));
  }

  lookup(ip: string): number | null {
    const t = this.t;
    const n = ipv4Number(ip);
    if (n !== null) return search(t.v4Start, t.v4End, t.v4Asn, n);
    const g = ipv6Groups(ip);
    if (!g) return null;
    let hi = 0n;
    let lo = 0n;
    for (let i = 0; i < 4; i++) hi = (hi << 16n) | BigInt(g[i]!);
    for (let i = 4; i < 8; i++) lo = (lo << 16n) | BigInt(g[i]!);
    // Last range starting at or before (hi, lo), then check its end.
    let a = 0;
    let b = t.v6StartHi.length - 1;
    while (a <= b) {
      const mid = (a + b) >>> 1;
      const sh = t.v6StartHi[mid]!;
      if (sh < hi || (sh === hi && t.v6StartLo[mid]! <= lo)) a = mid + 1;
      else b = mid - 1;
    }
    if (b < 0) return null;
    const eh = t.v6EndHi[b]!;
    return hi < eh || (hi === eh && lo <= t.v6EndLo[b]!) ? t.v6Asn[b]! : null;
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

function search(starts: Uint32Array, ends: Uint32Array, asns: Uint32Array, x: number): number | null {
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

/**
 * The databases a resolver reads, as bytes / tables on SharedArrayBuffers: loaded once per process
 * and handed to ingest's batch workers without copying.
 */
export interface GeoTables {
  countryMmdb: Uint8Array | null;
  asnMmdb: Uint8Array | null;
  asnRanges: AsnTables | null;
}

function sharedFile(path: string): Uint8Array {
  const bytes = readFileSync(path);
  const out = new Uint8Array(new SharedArrayBuffer(bytes.length));
  out.set(bytes);
  return out;
}

const loadedTables = new Map<string, GeoTables>();

/** Loads (once per process and config) the operator files or the bundled databases. */
export function loadGeoTables(config: GeoConfig): GeoTables {
  const cacheKey = JSON.stringify([config.countryMmdbPath, config.asnMmdbPath, config.bundled]);
  const cached = loadedTables.get(cacheKey);
  if (cached) return cached;
  const countryPath =
    config.countryMmdbPath ??
    (config.bundled
      ? packageFile('@ip-location-db/geolite2-country-mmdb', 'geolite2-country.mmdb')
      : undefined);
  const asnMmdb = config.asnMmdbPath ? sharedFile(config.asnMmdbPath) : null;
  const tables: GeoTables = {
    countryMmdb: countryPath ? sharedFile(countryPath) : null,
    asnMmdb,
    asnRanges:
      !asnMmdb && config.bundled
        ? asnTablesFromCsv(
            readFileSync(packageFile('@ip-location-db/asn', 'asn-ipv4-num.csv'), 'utf8'),
            readFileSync(packageFile('@ip-location-db/asn', 'asn-ipv6-num.csv'), 'utf8'),
          )
        : null,
  };
  loadedTables.set(cacheKey, tables);
  return tables;
}

/** A resolver over loaded tables (in the thread that loaded them or in a worker). */
export function geoResolverFrom(tables: GeoTables): GeoResolver {
  const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const countryReader = tables.countryMmdb
    ? (new Reader(asBuffer(tables.countryMmdb)) as unknown as { get(ip: string): CountryRecord | null })
    : null;
  const asnReader = tables.asnMmdb
    ? (new Reader(asBuffer(tables.asnMmdb)) as unknown as { get(ip: string): AsnRecord | null })
    : null;
  const asnRanges = tables.asnRanges ? new AsnRanges(tables.asnRanges) : null;
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
    position(ipRaw) {
      if (!countryReader) return null;
      try {
        const loc = countryReader.get(unmapped(ipRaw))?.location;
        if (loc?.latitude === undefined || loc.longitude === undefined) return null;
        // A City record without a radius is placed no better than its country: leave it to the country.
        if (loc.accuracy_radius === undefined || !(loc.accuracy_radius > 0)) return null;
        return { latitude: loc.latitude, longitude: loc.longitude, accuracyKm: loc.accuracy_radius };
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

/** Builds the resolver from config: operator files first, bundled databases as the fallback. */
export function createGeoResolver(config: GeoConfig): GeoResolver {
  return geoResolverFrom(loadGeoTables(config));
}
