import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kafkaSection } from '../../../core/config.ts';
import type { LeechguardError } from '../../../core/errors.ts';
import { clientCredentialsProvider, kafkaSasl, kafkaTls } from '../../../core/kafka.ts';

describe('Kafka transport security from config', () => {
  it('TLS with a private CA and a client certificate reads the PEM files; a missing one is named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lg-kafka-tls-'));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), `-----${f}-----`);
    const config = kafkaSection.parse({
      ssl: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
    });
    const tls = kafkaTls(config.ssl) as { ca: Buffer[]; cert: Buffer; key: Buffer };
    assert.equal(tls.ca[0]!.toString(), '-----ca.pem-----');
    assert.equal(tls.cert.toString(), '-----cert.pem-----');
    assert.equal(tls.key.toString(), '-----key.pem-----');
    assert.equal(kafkaTls(kafkaSection.parse({ ssl: true }).ssl), true);
    assert.throws(
      () => kafkaTls(kafkaSection.parse({ ssl: { caFile: join(dir, 'missing.pem') } }).ssl),
      (e: LeechguardError) => e.code === 'LG_ERR_CONFIG_INVALID' && /kafka\.ssl\.caFile/.test(e.message),
    );
  });

  it('SCRAM passes its credentials; an unknown mechanism is refused by the schema', () => {
    const scram = kafkaSection.parse({
      sasl: { mechanism: 'scram-sha-512', username: 'lg', password: 'p'.repeat(32) },
    });
    assert.deepEqual(kafkaSasl(scram.sasl), {
      mechanism: 'scram-sha-512',
      username: 'lg',
      password: 'p'.repeat(32),
    });
    assert.equal(
      kafkaSection.safeParse({ sasl: { mechanism: 'gssapi', username: 'a', password: 'b' } }).success,
      false,
    );
  });

  it('OAUTHBEARER fetches a client-credentials token and reuses it until a minute before expiry', async () => {
    const asked: Array<{ auth: string | undefined; body: string }> = [];
    let n = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        asked.push({ auth: req.headers.authorization, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: `tok-${++n}`, expires_in: 120 }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const config = kafkaSection.parse({
        sasl: {
          mechanism: 'oauthbearer',
          tokenUrl: `http://127.0.0.1:${port}/token`,
          clientId: 'leechguard',
          clientSecret: 's'.repeat(32),
          scope: 'kafka',
        },
      });
      const sasl = kafkaSasl(config.sasl) as { mechanism: string; oauthBearerProvider: unknown };
      assert.equal(sasl.mechanism, 'oauthbearer');
      let now = 0;
      const provider = clientCredentialsProvider(config.sasl as never, () => now);
      assert.deepEqual(await provider(), { value: 'tok-1' });
      now = 59_999;
      assert.deepEqual(await provider(), { value: 'tok-1' }, 'still valid for over a minute');
      now = 60_000;
      assert.deepEqual(await provider(), { value: 'tok-2' });
      assert.equal(asked[0]!.auth, `Basic ${Buffer.from(`leechguard:${'s'.repeat(32)}`).toString('base64')}`);
      assert.equal(asked[0]!.body, 'grant_type=client_credentials&scope=kafka');
    } finally {
      server.close();
    }
  });
});
