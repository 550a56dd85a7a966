import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { createGeoResolver } from '../../../ingest/transforms/enrich/geo.ts';

const require_ = createRequire(import.meta.url);
const mmdb = join(
  dirname(require_.resolve('@ip-location-db/geolite2-country-mmdb/package.json')),
  'geolite2-country.mmdb',
);

describe('geo databases (real files)', () => {
  it('answers country and ASN from the bundled databases', () => {
    const geo = createGeoResolver({ bundled: true });
    assert.equal(geo.country('8.8.8.8'), 'US');
    assert.equal(geo.asn('8.8.8.8'), 15169);
    assert.equal(geo.asn('2606:4700:4700::1111'), 13335);
    assert.equal(geo.country('10.0.0.1'), null, 'private addresses have no country');
  });

  it('uses an operator-supplied MaxMind country file, and nothing bundled when told so', () => {
    const geo = createGeoResolver({ bundled: false, countryMmdbPath: mmdb });
    assert.equal(geo.country('81.2.69.160'), 'GB');
    assert.equal(geo.asn('81.2.69.160'), null, 'no ASN source configured');
  });
});
