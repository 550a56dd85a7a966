/**
 * The simulator's networks against the real databases ingest enriches with: every sampled
 * address geolocates to the country and belongs to the ASN the simulator says (so a flag's
 * evidence shows what the truth meant). Reads the bundled databases; no stack needed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Reader } from 'maxmind';
import { Prng } from '../../../simulate/prng.ts';
import {
  ALL_NETWORKS,
  hasIpv6,
  networkOf,
  randomPlace,
  randomPlace6,
} from '../../../simulate/world/index.ts';

const root = new URL('../../../node_modules/@ip-location-db/', import.meta.url);

function ipNum(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

test('sampled addresses of every simulated network map to its country and ASN in the bundled databases', () => {
  const geo = new Reader(readFileSync(new URL('geolite2-country-mmdb/geolite2-country-ipv4.mmdb', root)));
  const ranges: Array<[number, number, number]> = [];
  for (const line of readFileSync(new URL('asn/asn-ipv4-num.csv', root), 'utf8').split('\n')) {
    if (!line) continue;
    const [a, b, asn] = line.split(',');
    ranges.push([Number(a), Number(b), Number(asn)]);
  }
  const asnOf = (ip: string): number | null => {
    const n = ipNum(ip);
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = ranges[mid] as [number, number, number];
      if (n < r[0]) hi = mid - 1;
      else if (n > r[1]) lo = mid + 1;
      else return r[2];
    }
    return null;
  };
  const rng = new Prng('world-check');
  for (const net of ALL_NETWORKS) {
    for (let i = 0; i < 20; i++) {
      const place = randomPlace(rng, net);
      const country = (geo.get(place.ip) as { country_code?: string } | null)?.country_code;
      assert.equal(country, net.country, `${place.ip} of AS${net.asn} ${net.name}`);
      assert.equal(asnOf(place.ip), net.asn, `${place.ip} ASN`);
      assert.equal(place.network, networkOf(place.ip));
      assert.match(place.network, /^\d+\.\d+\.\d+\.0\/24$/);
    }
  }
});

function ip6Num(ip: string): bigint {
  // Our addresses are written in full (eight hextets, no '::').
  return ip.split(':').reduce((n, h) => (n << 16n) + BigInt(Number.parseInt(h, 16)), 0n);
}

test('sampled IPv6 addresses of fixed-line networks map to their country and ASN too', () => {
  const geo6 = new Reader(readFileSync(new URL('geolite2-country-mmdb/geolite2-country-ipv6.mmdb', root)));
  const ranges: Array<[bigint, bigint, number]> = [];
  for (const line of readFileSync(new URL('asn/asn-ipv6-num.csv', root), 'utf8').split('\n')) {
    if (!line) continue;
    const [a, b, asn] = line.split(',');
    ranges.push([BigInt(a as string), BigInt(b as string), Number(asn)]);
  }
  const asnOf = (ip: string): number | null => {
    const n = ip6Num(ip);
    let lo = 0;
    let hi = ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = ranges[mid] as [bigint, bigint, number];
      if (n < r[0]) hi = mid - 1;
      else if (n > r[1]) lo = mid + 1;
      else return r[2];
    }
    return null;
  };
  const rng = new Prng('world-check-6');
  const withV6 = ALL_NETWORKS.filter(hasIpv6);
  assert.ok(withV6.length >= 10, 'most fixed-line operators have IPv6 space');
  for (const net of withV6) {
    for (let i = 0; i < 20; i++) {
      const place = randomPlace6(rng, net);
      assert.equal(place.ip.split(':').length, 8);
      assert.equal(
        (geo6.get(place.ip) as { country_code?: string } | null)?.country_code,
        net.country,
        place.ip,
      );
      assert.equal(asnOf(place.ip), net.asn, `${place.ip} ASN`);
      assert.equal(place.network, networkOf(place.ip));
      assert.match(place.network, /^[0-9a-f]+:[0-9a-f]+:[0-9a-f]+::\/48$/);
    }
  }
});
