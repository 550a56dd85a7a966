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
import { randomPlace } from '../../../simulate/world/index.ts';
import { NETWORKS } from '../../../simulate/world/networks.generated.ts';

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
  for (const net of NETWORKS) {
    for (let i = 0; i < 20; i++) {
      const place = randomPlace(rng, net);
      const country = (geo.get(place.ip) as { country_code?: string } | null)?.country_code;
      assert.equal(country, net.country, `${place.ip} of AS${net.asn} ${net.name}`);
      assert.equal(asnOf(place.ip), net.asn, `${place.ip} ASN`);
      assert.equal(place.network, `${place.ip.split('.').slice(0, 3).join('.')}.0/24`);
    }
  }
});
