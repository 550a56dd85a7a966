/**
 * Writes a simulation to files: one log per CDN format, heartbeats and accounts as NDJSON, the
 * truth as JSON, and the real-time log's field list. Lines are buffered and written
 * synchronously in chunks, so memory stays flat whatever the span.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Simulation } from '../engine.ts';
import {
  CLOUDFRONT_REALTIME_FIELDS,
  formatAccount,
  formatHeartbeat,
  formatPreamble,
  OUTPUT_FILES,
  requestFormatters,
} from '../formats/index.ts';
import { CDN_FORMATS, type CdnFormat } from '../model.ts';

/** Bytes buffered per output before a write: large enough to amortise syscalls, small enough to stay flat. */
const WRITE_CHUNK_BYTES = 1 << 20;

/** Lines are UTF-8 encoded straight into one reusable buffer, written when it is nearly full. */
class LineFile {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(WRITE_CHUNK_BYTES);
  private used = 0;
  lines = 0;
  bytes = 0;

  private readonly gzip: boolean;

  /** With gzip, each flushed chunk is one gzip member: concatenated members are one valid .gz file. */
  constructor(path: string, gzip = false) {
    this.fd = openSync(path, 'w');
    this.gzip = gzip;
  }

  write(text: string, countsAsLine = true): void {
    if (countsAsLine) this.lines++;
    // A UTF-8 character takes at most 3 bytes per UTF-16 unit.
    if (this.used + text.length * 3 > this.buf.length) {
      this.flush();
      if (text.length * 3 > this.buf.length) {
        const big = Buffer.from(text, 'utf8');
        const out = this.gzip ? gzipSync(big, { level: 1 }) : big;
        this.bytes += writeSync(this.fd, out);
        return;
      }
    }
    this.used += this.buf.write(text, this.used, 'utf8');
  }

  flush(): void {
    if (this.used === 0) return;
    const out = this.gzip
      ? gzipSync(this.buf.subarray(0, this.used), { level: 1 })
      : this.buf.subarray(0, this.used);
    let off = 0;
    while (off < out.length) off += writeSync(this.fd, out, off, out.length - off);
    this.bytes += out.length;
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export interface FileSummary {
  outDir: string;
  files: Record<string, { path: string; lines: number; bytes: number }>;
  events: number;
  requests: number;
  heartbeats: number;
  accounts: number;
  firstEventMs: number | null;
  lastEventMs: number | null;
}

/** The configuration without its keys (simulated, but keys are not written beside data). */
function publicConfig(sim: Simulation): Record<string, unknown> {
  const { tokenSigningKey: _a, catKeyHex: _b, tokenHashing: _c, ...rest } = sim.config;
  return rest;
}

/** Plays the simulation into outDir; returns what was written. */
export function writeSimulationFiles(
  sim: Simulation,
  outDir: string,
  options: { gzip?: boolean } = {},
): FileSummary {
  const gzip = options.gzip ?? false;
  const pathOf = (name: keyof typeof OUTPUT_FILES) => join(outDir, OUTPUT_FILES[name] + (gzip ? '.gz' : ''));
  mkdirSync(outDir, { recursive: true });
  const formatters = requestFormatters(CLOUDFRONT_REALTIME_FIELDS);
  const openLogs = (dir: string): Record<CdnFormat, LineFile> => {
    const logs = {} as Record<CdnFormat, LineFile>;
    for (const f of CDN_FORMATS) {
      logs[f] = new LineFile(join(dir, OUTPUT_FILES[f] + (gzip ? '.gz' : '')), gzip);
      const preamble = formatPreamble(f);
      if (preamble) logs[f].write(preamble, false);
    }
    return logs;
  };
  const logs = openLogs(outDir);
  // Another tenant's CDN logs (the CDN-logs-only tenant of --heartbeats some) go to DIR/<tenant>/:
  // an operator configures one ingest source per tenant and log.
  const otherLogs = new Map<string, Record<CdnFormat, LineFile>>();
  const logsOf = (tenant: string): Record<CdnFormat, LineFile> => {
    if (tenant === sim.config.tenant) return logs;
    let l = otherLogs.get(tenant);
    if (!l) {
      mkdirSync(join(outDir, tenant), { recursive: true });
      l = openLogs(join(outDir, tenant));
      otherLogs.set(tenant, l);
    }
    return l;
  };
  const heartbeats = new LineFile(pathOf('heartbeats'), gzip);
  const accounts = new LineFile(pathOf('accounts'), gzip);
  let events = 0;
  let requests = 0;
  let hbs = 0;
  let firstEventMs: number | null = null;
  let lastEventMs: number | null = null;
  for (const e of sim.events()) {
    events++;
    if (e.type === 'request') {
      requests++;
      const r = e.request;
      logsOf(r.tenant)[r.cdn].write(formatters[r.cdn](r));
    } else if (e.type === 'heartbeat') {
      hbs++;
      heartbeats.write(formatHeartbeat(e.heartbeat));
    } else {
      accounts.write(formatAccount(e.plan));
      continue;
    }
    firstEventMs ??= e.timestampMs;
    lastEventMs = e.timestampMs;
  }
  const files: FileSummary['files'] = {};
  for (const [name, file] of [
    ...CDN_FORMATS.map((f) => [f, logs[f]] as const),
    ['heartbeats', heartbeats] as const,
    ['accounts', accounts] as const,
  ]) {
    file.close();
    files[name] = { path: pathOf(name), lines: file.lines, bytes: file.bytes };
  }
  for (const [tenant, tenantLogs] of otherLogs)
    for (const f of CDN_FORMATS) {
      const file = tenantLogs[f];
      file.close();
      files[`${tenant}/${f}`] = {
        path: join(outDir, tenant, OUTPUT_FILES[f] + (gzip ? '.gz' : '')),
        lines: file.lines,
        bytes: file.bytes,
      };
    }
  writeFileSync(join(outDir, OUTPUT_FILES.realtimeFields), `${CLOUDFRONT_REALTIME_FIELDS.join('\n')}\n`);
  writeFileSync(join(outDir, OUTPUT_FILES.truth), `${JSON.stringify(sim.truth)}\n`);
  const summary: FileSummary = {
    outDir,
    files,
    events,
    requests,
    heartbeats: hbs,
    accounts: sim.truth.viewers,
    firstEventMs,
    lastEventMs,
  };
  writeFileSync(
    join(outDir, OUTPUT_FILES.summary),
    `${JSON.stringify({ config: publicConfig(sim), ...summary }, null, 2)}\n`,
  );
  return summary;
}
