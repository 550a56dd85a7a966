/**
 * The non-Node edge example (examples/nginx) run for real: Debian's nginx with
 * libnginx-mod-http-lua (or OpenResty) loads examples/nginx/nginx.conf and leechguard.lua unchanged
 * except for ports and paths, proxies /media/ to a local origin and reads the denylist that the
 * enforcer's writer fills in the stack's Redis.
 *
 * scripts/setup.sh installs nginx in CI; elsewhere this suite is skipped (with the reason) when no
 * nginx with the Lua module is found, and fails in CI rather than skip.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from '../../../core/stack/processes.ts';
import { TokenHasher, tokenHashingSection } from '../../../core/token-hash.ts';
import { denyKey, entryToFields } from '../../../enforcer/denylist/keys.ts';
import { emptyCmcd, parseCmcdText } from '../../../ingest/transforms/enrich/cmcd.ts';
import { testEndpoints, uniqueName } from '../../support/stack.ts';
import { waitFor } from '../../support/wait.ts';
import { denyEntry, liftDeny, startPrivateRedis, writeDeny } from './support.ts';

const EXAMPLE_DIR = join(import.meta.dirname, '../../../examples/nginx');
const LUA_MODULE = '/usr/lib/nginx/modules/ngx_http_lua_module.so';
/** The example caches every answer for 1 s; a lift must show within that (plus a loaded machine). */
const CACHE_TTL_MS = 1_000;
const LIFT_VISIBLE_MS = CACHE_TTL_MS + 2_000;

const hashing = tokenHashingSection.parse({
  currentKeyId: 'k1',
  keys: {
    k1: 'nginx-example-current-key-0123456789abcdef',
    k0: 'nginx-example-retired-key-0123456789abcdef',
  },
});
const hasher = new TokenHasher(hashing);
/** The sid ingest's CMCD parser reads from `text` (null when none). */
function ingestSid(text: string): string | null {
  const cmcd = emptyCmcd();
  parseCmcdText(text, cmcd);
  return cmcd.sid;
}
const retiredOnly = new TokenHasher({ currentKeyId: 'k0', keys: { k0: hashing.keys.k0! } });

/** nginx on PATH or in the usual places, and whether it can load ngx_http_lua_module. */
interface Nginx {
  bin: string;
  builtinLua: boolean;
  /** `nginx -V`: which modules (and so which temp-path directives) this build has. */
  version: string;
}

function findNginx(): Nginx | { missing: string } {
  let withoutLua: string | undefined;
  for (const bin of ['nginx', '/usr/sbin/nginx', 'openresty', '/usr/local/openresty/bin/openresty']) {
    const v = spawnSync(bin, ['-V'], { encoding: 'utf8' });
    if (v.error || v.status !== 0) continue;
    const version = `${v.stdout}${v.stderr}`; // nginx -V writes to stderr
    const builtinLua = /lua-nginx-module|ngx_lua/.test(version);
    if (builtinLua || existsSync(LUA_MODULE)) return { bin, builtinLua, version };
    withoutLua ??= bin;
  }
  return {
    missing: withoutLua
      ? `${withoutLua} has no Lua module (apt install libnginx-mod-http-lua, or use OpenResty)`
      : 'nginx not installed (scripts/setup.sh installs nginx + libnginx-mod-http-lua in CI)',
  };
}

const found = findNginx();
const skip = 'missing' in found ? found.missing : false;
if (skip && process.env.CI === 'true') throw new Error(`CI must run the nginx example: ${skip}`);
/** The nginx the suite runs (read only when it is not skipped). */
const nginxFound = found as Nginx;

/** The example's environment for a Redis on this machine's `port`, current hashing key only. */
function envFor(port: number | string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LEECHGUARD_REDIS_HOST: '127.0.0.1',
    LEECHGUARD_REDIS_PORT: String(port),
    LEECHGUARD_TOKEN_KEYS: `k1=${hashing.keys.k1}`,
    ...extra,
  };
}

/** Replaces `needle` once in `text`; throws when the example no longer has it (the test would drift). */
function replaceOnce(text: string, needle: string, replacement: string): string {
  assert.ok(text.includes(needle), `examples/nginx/nginx.conf no longer contains ${JSON.stringify(needle)}`);
  return text.replace(needle, replacement);
}

interface NginxEdge {
  url: string;
  stop(): Promise<void>;
  errorLog(): string;
  accessLog(): string;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Temp directories inside the test's dir: nginx creates every one at start, and the compiled-in
 * /var/lib/nginx/* is writable only by root. Only for modules this build has (else the directive
 * is unknown).
 */
function tempPaths(nginx: Nginx, dir: string): string {
  const lines = [`  client_body_temp_path ${dir}/body;`, `  proxy_temp_path ${dir}/proxy;`];
  for (const m of ['fastcgi', 'uwsgi', 'scgi']) {
    if (!nginx.version.includes(`--without-http_${m}_module`)) lines.push(`  ${m}_temp_path ${dir}/${m};`);
  }
  return lines.join('\n');
}

/** Starts nginx on the example's config, with its ports and paths pointed at this test's. */
async function startNginx(nginx: Nginx, env: Record<string, string>, originPort: number): Promise<NginxEdge> {
  const dir = mkdtempSync(join(tmpdir(), 'lg-nginx-'));
  chmodSync(dir, 0o755); // workers run as an unprivileged user and read the Lua file and slates
  mkdirSync(join(dir, 'www/slates'), { recursive: true });
  writeFileSync(join(dir, 'www/slates/upgrade.m3u8'), '#EXTM3U\n# slate: upgrade your plan\n');
  copyFileSync(join(EXAMPLE_DIR, 'leechguard.lua'), join(dir, 'leechguard.lua'));
  const port = await freePort();
  let conf = readFileSync(join(EXAMPLE_DIR, 'nginx.conf'), 'utf8');
  if (nginx.builtinLua) {
    conf = replaceOnce(conf, 'load_module /usr/lib/nginx/modules/ndk_http_module.so;', '');
    conf = replaceOnce(conf, 'load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;', '');
  }
  conf = replaceOnce(
    conf,
    'worker_processes auto;',
    `worker_processes 1;\ndaemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;`,
  );
  // The access log records the rate limit each request was served at (bytes/s, 0 = none).
  conf = replaceOnce(
    conf,
    'http {',
    `http {\n  log_format lg '$request_uri $limit_rate';\n  access_log ${dir}/access.log lg;\n${tempPaths(nginx, dir)}`,
  );
  conf = replaceOnce(conf, 'listen 8080;', `listen 127.0.0.1:${port};`);
  conf = replaceOnce(conf, 'root /var/www;', `root ${dir}/www;`);
  conf = replaceOnce(conf, 'server 127.0.0.1:9000;', `server 127.0.0.1:${originPort};`);
  writeFileSync(join(dir, 'nginx.conf'), conf);

  const child: ChildProcess = spawn(
    nginx.bin,
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', ...env } },
  );
  const accessLog = () =>
    existsSync(join(dir, 'access.log')) ? readFileSync(join(dir, 'access.log'), 'utf8') : '';
  const errorLog = () =>
    existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
  try {
    await waitFor(
      () => `nginx to start (exit ${child.exitCode}): ${errorLog()}`,
      () => child.exitCode === null && child.signalCode === null && portOpen(port),
      10_000,
      50,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    errorLog,
    accessLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM'); // fast shutdown of master and workers
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('examples/nginx: an nginx edge reading the denylist in Redis directly', { skip }, () => {
  let redis: Redis;
  let origin: Server;
  let originPort: number;
  let edge: NginxEdge;

  before(async () => {
    const { redisUrl } = await testEndpoints();
    redis = new Redis(redisUrl);
    const { hostname: redisHost, port: redisPort } = new URL(redisUrl);
    origin = createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`origin ${req.url}`);
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originPort = (origin.address() as AddressInfo).port;
    edge = await startNginx(
      nginxFound,
      {
        LEECHGUARD_REDIS_HOST: redisHost,
        LEECHGUARD_REDIS_PORT: redisPort || '6379',
        LEECHGUARD_TOKEN_KEYS: `k1=${hashing.keys.k1},k0=${hashing.keys.k0}`,
        // A loaded CI machine may take longer than the example's 20 ms; fail-open would hide a 403.
        LEECHGUARD_REDIS_TIMEOUT_MS: '1000',
      },
      originPort,
    );
  });
  after(async () => {
    await edge?.stop();
    origin?.close();
    redis?.disconnect();
  });

  const get = async (path: string, headers: Record<string, string> = {}, base = edge.url) => {
    const res = await fetch(`${base}${path}`, { headers, redirect: 'manual' });
    return {
      status: res.status,
      body: await res.text(),
      revocation: res.headers.get('x-leechguard-revocation'),
    };
  };

  test('a token with no entry is proxied to the origin', async () => {
    const r = await get(`/media/seg-1.ts?token=${uniqueName('tok')}`);
    assert.equal(r.status, 200, edge.errorLog());
    assert.equal(r.body.startsWith('origin /media/seg-1.ts'), true);
    assert.equal(r.revocation, null);
  });

  test('a token revoked by its keyed hash is refused with the revocation id', async () => {
    const token = uniqueName('tok/+=?'); // characters that travel URL-encoded
    const entry = denyEntry();
    await writeDeny(redis, 'token', hasher.hash(token).hash, entry);
    const r = await get(`/media/seg-1.ts?token=${encodeURIComponent(token)}`);
    assert.equal(r.status, 403, edge.errorLog());
    assert.equal(r.revocation, entry.revocationId);
    // The next request is answered from the edge's 1 s cache: the same refusal.
    const cached = await get(`/media/seg-2.ts?token=${encodeURIComponent(token)}`);
    assert.equal(cached.status, 403, edge.errorLog());
    assert.equal(cached.revocation, entry.revocationId);
  });

  test('an entry written under a retired hashing key still blocks (key rotation)', async () => {
    const token = uniqueName('tok');
    const entry = denyEntry();
    await writeDeny(redis, 'token', retiredOnly.hash(token).hash, entry);
    const r = await get(`/media/seg-1.ts?token=${token}`);
    assert.equal(r.status, 403);
    assert.equal(r.revocation, entry.revocationId);
  });

  test('an evicted session (CMCD sid) is refused', async () => {
    const sid = uniqueName('sess');
    const entry = denyEntry({ action: 'evict_session', rule: 'account-concurrency' });
    await writeDeny(redis, 'session', sid, entry);
    const cmcd = encodeURIComponent(`br=3200,sid="${sid}",su`);
    const r = await get(`/media/seg-2.ts?CMCD=${cmcd}`);
    assert.equal(r.status, 403);
    assert.equal(r.revocation, entry.revocationId);
    // Players may send CMCD as headers instead; a key merely ending in "sid" is not the sid.
    const byHeader = await get('/media/seg-3.ts', { 'cmcd-session': `cid="match",sid="${sid}"` });
    assert.equal(byHeader.status, 403);
    assert.equal((await get('/media/seg-3.ts', { 'cmcd-session': `xsid="${sid}"` })).status, 200);
  });

  test('the CMCD sid is read as ingest reads it: escapes, quoted commas, bare values, the last sid', async () => {
    // Each case: CMCD text → the sid ingest's parser finds (what the enforcer would evict), which
    // the edge must refuse; a "decoy" is a sid-looking text inside another key's quoted value.
    const u = () => uniqueName('sess');
    const [escQuote, escSlash, quotedComma, decoy1, bare, first, last, long] = [
      u(),
      u(),
      u(),
      u(),
      u(),
      u(),
      u(),
      u(),
    ];
    const cases = [
      `sid="${escQuote}\\"q"`,
      `sid="${escSlash}\\\\b"`,
      `cid="a,sid=\\"${decoy1}\\"",sid="${quotedComma}"`,
      `br=3200,sid=${bare},su`,
      `sid="${first}",sid="${last}"`,
      `sid="${long}${'x'.repeat(300)}"`,
      `sid="${long}${'é'.repeat(300)}"`, // cut at 256 UTF-16 units as ingest cuts it, not bytes
    ];
    await writeDeny(redis, 'session', decoy1, denyEntry({ action: 'evict_session' }));
    for (const text of cases) {
      const sid = ingestSid(text);
      assert.ok(sid, `ingest reads a sid from ${text}`);
      const entry = denyEntry({ action: 'evict_session', rule: 'account-concurrency' });
      await writeDeny(redis, 'session', sid, entry);
      const r = await get(`/media/seg-5.ts?CMCD=${encodeURIComponent(text)}`);
      assert.equal(r.status, 403, `${text}: ${edge.errorLog()}`);
      assert.equal(r.revocation, entry.revocationId, text);
    }
    assert.equal(ingestSid(cases[0]!), `${escQuote}"q`);
    assert.equal(ingestSid(cases[1]!), `${escSlash}\\b`);
    assert.equal(ingestSid(cases[4]!), last);
    assert.equal(ingestSid(cases[5]!)?.length, 256);
    // A sid-looking text inside another key's quoted value is not the sid: nothing is refused.
    const decoy2 = u();
    await writeDeny(redis, 'session', decoy2, denyEntry({ action: 'evict_session' }));
    const onlyDecoy = `cid="x,sid=\\"${decoy2}\\""`;
    assert.equal(ingestSid(onlyDecoy), null);
    assert.equal((await get(`/media/seg-5.ts?CMCD=${encodeURIComponent(onlyDecoy)}`)).status, 200);
    assert.equal((await get('/media/seg-5.ts', { 'cmcd-session': onlyDecoy })).status, 200);
  });

  test('the CMCD sid is looked for where ingest looks: the query, then every CMCD header, the last one winning', async () => {
    const [inQuery, inHeader] = [uniqueName('sess-q'), uniqueName('sess-h')];
    const queryEntry = denyEntry({ action: 'evict_session' });
    const headerEntry = denyEntry({ action: 'evict_session' });
    await writeDeny(redis, 'session', inQuery, queryEntry);
    await writeDeny(redis, 'session', inHeader, headerEntry);
    // A CMCD query without a sid does not hide the sid of a header.
    const headerOnly = await get(`/media/seg-6.ts?CMCD=${encodeURIComponent('br=3200,su')}`, {
      'cmcd-request': `sid="${inHeader}"`,
    });
    assert.equal(headerOnly.revocation, headerEntry.revocationId);
    // Both: the header's sid wins, as in ingest (what the enforcer evicted).
    const both = await get(`/media/seg-6.ts?CMCD=${encodeURIComponent(`sid="${inQuery}"`)}`, {
      'cmcd-status': `sid="${inHeader}"`,
    });
    assert.equal(both.revocation, headerEntry.revocationId);
    const text = `sid="${inQuery}"`;
    const cmcd = emptyCmcd();
    parseCmcdText(text, cmcd);
    parseCmcdText('bs', cmcd); // a header without a sid keeps the query's
    assert.equal(cmcd.sid, inQuery);
    const queryKept = await get(`/media/seg-6.ts?CMCD=${encodeURIComponent(text)}`, { 'cmcd-status': 'bs' });
    assert.equal(queryKept.revocation, queryEntry.revocationId);
  });

  test('a throttled account is served at its rate, marked with the revocation', async () => {
    const accountId = uniqueName('acct');
    const entry = denyEntry({ action: 'throttle', throttleKbps: 800 });
    await writeDeny(redis, 'account', accountId, entry);
    const r = await get(`/media/seg-3.ts?a=${accountId}`, { 'x-account-id': accountId });
    assert.equal(r.status, 200);
    assert.equal(r.body.startsWith('origin /media/seg-3.ts'), true);
    assert.equal(r.revocation, entry.revocationId);
    // 800 kbps = 100,000 bytes/s, as nginx's $limit_rate for this request (logged when it ends).
    await waitFor(
      () =>
        `the request logged at 100000 bytes/s; logged: ${edge
          .accessLog()
          .split('\n')
          .filter((l) => l.includes(accountId))
          .join('\n')}`,
      () => edge.accessLog().includes(`/media/seg-3.ts?a=${accountId} 100000`),
      2_000,
      20,
    );
  });

  test('a substitute entry serves the slate instead of the content', async () => {
    const accountId = uniqueName('acct');
    const entry = denyEntry({ action: 'substitute', slate: 'upgrade' });
    await writeDeny(redis, 'account', accountId, entry);
    const r = await get('/media/master.m3u8', { 'x-account-id': accountId });
    assert.equal(r.status, 200);
    assert.match(r.body, /slate: upgrade your plan/);
    assert.equal(r.revocation, entry.revocationId);
  });

  test('the most severe entry wins: a throttled account with an evicted session is refused', async () => {
    const accountId = uniqueName('acct');
    const sid = uniqueName('sess');
    await writeDeny(redis, 'account', accountId, denyEntry({ action: 'throttle', throttleKbps: 800 }));
    const evict = denyEntry({ action: 'evict_session' });
    await writeDeny(redis, 'session', sid, evict);
    const r = await get(`/media/seg-4.ts?CMCD=${encodeURIComponent(`sid="${sid}"`)}`, {
      'x-account-id': accountId,
    });
    assert.equal(r.status, 403);
    assert.equal(r.revocation, evict.revocationId);
  });

  test('the most severe entry wins whichever key is read first: a throttled token with a blocked account is refused', async () => {
    const token = uniqueName('tok');
    const accountId = uniqueName('acct');
    await writeDeny(
      redis,
      'token',
      hasher.hash(token).hash,
      denyEntry({ action: 'throttle', throttleKbps: 800 }),
    );
    const block = denyEntry({ action: 'block_account' });
    await writeDeny(redis, 'account', accountId, block);
    const r = await get(`/media/seg-4.ts?token=${token}`, { 'x-account-id': accountId });
    assert.equal(r.status, 403);
    assert.equal(r.revocation, block.revocationId);
  });

  test('with Redis gone, fail-open still applies an entry this edge has cached', async (t) => {
    const priv = await startPrivateRedis();
    t.after(() => priv.stop());
    const own = new Redis(priv.url);
    const token = uniqueName('tok');
    const entry = denyEntry();
    await writeDeny(own, 'token', hasher.hash(token).hash, entry);
    own.disconnect();
    const nginx = await startNginx(nginxFound, envFor(priv.port), originPort);
    t.after(() => nginx.stop());
    assert.equal((await get(`/media/a.ts?token=${token}`, {}, nginx.url)).status, 403); // now cached
    await priv.stop();
    // A new subject forces a Redis read, which fails: the cached refusal still holds.
    const r = await get(`/media/b.ts?token=${token}`, { 'x-account-id': uniqueName('acct') }, nginx.url);
    assert.equal(r.status, 403, nginx.errorLog());
    assert.equal(r.revocation, entry.revocationId);
    assert.match(nginx.errorLog(), /denylist unreadable .*fail-open/);
  });

  test('an entry whose expiresAtMs has passed is ignored even while the key lingers', async () => {
    const accountId = uniqueName('acct');
    const key = denyKey('account', accountId);
    const entry = denyEntry({ action: 'block_account', expiresAtMs: Date.now() - 1_000 });
    await redis.hset(key, ...entryToFields(entry)); // no TTL: only the field says it is over
    try {
      const r = await get('/media/seg-5.ts', { 'x-account-id': accountId });
      assert.equal(r.status, 200);
      assert.equal(r.revocation, null);
    } finally {
      await redis.del(key);
    }
  });

  test('a lift reaches the edge once its 1 s cache entry expires', async () => {
    const token = uniqueName('tok');
    const hash = hasher.hash(token).hash;
    await writeDeny(redis, 'token', hash, denyEntry());
    assert.equal((await get(`/media/seg-6.ts?token=${token}`)).status, 403);
    await liftDeny(redis, 'token', hash);
    await waitFor(
      'the lifted token served',
      async () => (await get(`/media/seg-6.ts?token=${token}`)).status === 200,
      LIFT_VISIBLE_MS,
      50,
    );
  });

  test('with LEECHGUARD_REDIS_PASSWORD it authenticates; without it, a Redis that requires AUTH fails open', async (t) => {
    const password = 'nginx-example-redis-password';
    const priv = await startPrivateRedis({ password });
    t.after(() => priv.stop());
    const withPassword = await startNginx(
      nginxFound,
      envFor(priv.port, { LEECHGUARD_REDIS_PASSWORD: password }),
      originPort,
    );
    t.after(() => withPassword.stop());
    const without = await startNginx(nginxFound, envFor(priv.port), originPort);
    t.after(() => without.stop());
    const own = new Redis(priv.url);
    t.after(() => own.disconnect());
    // Two subjects (each answer is cached 1 s): the second read rides the pooled connection,
    // already authenticated, so no AUTH is sent on it.
    const authCalls = async () =>
      Number(/cmdstat_auth:calls=(\d+)/.exec(String(await own.info('commandstats')))?.[1] ?? 0);
    const authBefore = await authCalls();
    let token = '';
    for (const seg of ['seg-8a', 'seg-8b']) {
      token = uniqueName('tok');
      const entry = denyEntry();
      await writeDeny(own, 'token', hasher.hash(token).hash, entry);
      const r = await get(`/media/${seg}.ts?token=${token}`, {}, withPassword.url);
      assert.equal(r.status, 403, withPassword.errorLog());
      assert.equal(r.revocation, entry.revocationId);
    }
    // This test's client and nginx's one pooled connection.
    const clients = String(await own.call('CLIENT', 'LIST'))
      .trim()
      .split('\n');
    assert.equal(clients.length, 2, clients.join('\n'));
    // nginx sent AUTH once, on its new connection, not once per request.
    assert.equal((await authCalls()) - authBefore, 1);
    const r = await get(`/media/seg-8.ts?token=${token}`, {}, without.url);
    assert.equal(r.status, 200);
    assert.match(without.errorLog(), /denylist unreadable \(redis: NOAUTH/);
  });

  test('with Redis unreachable, fail-open serves and fail-closed refuses', async (t) => {
    const closedPort = await freePort(); // nothing listens there
    const open = await startNginx(nginxFound, envFor(closedPort), originPort);
    t.after(() => open.stop());
    const closed = await startNginx(
      nginxFound,
      envFor(closedPort, { LEECHGUARD_FAIL_MODE: 'closed' }),
      originPort,
    );
    t.after(() => closed.stop());
    const a = await get(`/media/seg-7.ts?token=${uniqueName('tok')}`, {}, open.url);
    assert.equal(a.status, 200);
    assert.match(open.errorLog(), /denylist unreadable .*fail-open/);
    const b = await get(`/media/seg-7.ts?token=${uniqueName('tok')}`, {}, closed.url);
    assert.equal(b.status, 403);
    assert.match(closed.errorLog(), /denylist unreadable .*fail-closed/);
  });
});
