import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allApiKeys, defaultPlanFor, ingestConfigSchema } from '../../../ingest/config.ts';

describe('ingest config', () => {
  it('has working defaults: port 8090, /24 and /48 prefixes, a default plan, bundled geo', () => {
    const c = ingestConfigSchema.parse({});
    assert.equal(c.http.port, 8090);
    assert.equal(c.enrich.ipv4PrefixBits, 24);
    assert.equal(c.enrich.ipv6PrefixBits, 48);
    assert.equal(c.enrich.geo.bundled, true);
    assert.equal(defaultPlanFor(c, 'any-tenant')?.streamLimit, 2);
  });

  it('rejects unknown keys, in sources too', () => {
    assert.equal(ingestConfigSchema.safeParse({ sourcez: [] }).success, false);
    const r = ingestConfigSchema.safeParse({
      sources: [{ name: 'a', format: 'fastly', key: 'k'.repeat(16), colour: 'red' }],
    });
    assert.equal(r.success, false);
  });

  it('rejects duplicate source names and an in-flight bound below one batch', () => {
    const src = { name: 'a', format: 'fastly', key: 'k'.repeat(16) };
    assert.equal(
      ingestConfigSchema.safeParse({ sources: [src, { ...src, key: 'j'.repeat(16) }] }).success,
      false,
    );
    assert.equal(
      ingestConfigSchema.safeParse({ limits: { inFlightRecordsMax: 10, batchLinesMax: 100 } }).success,
      false,
    );
  });

  it('gives each source a bearer key: role source for logs, player for heartbeats', () => {
    const c = ingestConfigSchema.parse({
      sources: [
        { name: 'cdn', format: 'akamai-ds2', key: 'a'.repeat(16) },
        { name: 'app', format: 'heartbeat', key: 'b'.repeat(16) },
      ],
    });
    assert.deepEqual(
      allApiKeys(c).map((k) => [k.name, k.roles]),
      [
        ['cdn', ['source']],
        ['app', ['player']],
      ],
    );
  });

  it('takes a cloudfront-realtime field order for http.apiKeys callers, which must include timestamp', () => {
    const fields = ['timestamp', 'c-ip', 'cs-uri-stem'];
    const c = ingestConfigSchema.parse({ defaultFields: { 'cloudfront-realtime': fields } });
    assert.deepEqual(c.defaultFields['cloudfront-realtime'], fields);
    assert.equal(ingestConfigSchema.parse({}).defaultFields['cloudfront-realtime'], undefined);
    assert.equal(
      ingestConfigSchema.safeParse({ defaultFields: { 'cloudfront-realtime': ['c-ip'] } }).success,
      false,
    );
    assert.equal(ingestConfigSchema.safeParse({ defaultFields: { fastly: ['x'] } }).success, false);
  });

  it('uses a tenant default plan before the global one', () => {
    const c = ingestConfigSchema.parse({
      defaultPlans: { default: { planId: 'std', streamLimit: 2 }, kids: { planId: 'kids', streamLimit: 1 } },
    });
    assert.equal(defaultPlanFor(c, 'kids')?.planId, 'kids');
    assert.equal(defaultPlanFor(c, 'other')?.planId, 'std');
  });
});
