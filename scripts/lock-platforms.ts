/**
 * Keeps package-lock.json usable by `npm ci` on every platform: each optional dependency a locked
 * package declares must have an entry in the lock, or `npm ci` stops with "package.json and
 * package-lock.json are not in sync ... Missing: @biomejs/cli-darwin-arm64@ from lock file".
 *
 * Why they go missing: the npm registry reachable from this project's machines does not serve
 * every platform's prebuilt package (here @biomejs/cli-{android,darwin,win32}-*, the -musl builds,
 * every @cbor-extract/*), so when npm writes the lock it leaves out the ones it could not fetch.
 * This script adds an entry for each, from what is known without fetching it: the exact version
 * the parent pins, os / cpu / libc from the platform in its name (libc as its locked siblings
 * have it), and the parent's dev / optional flags and license. No integrity (npm could not fetch
 * the package here): `npm ci` still installs the platform's package by name and version, and a
 * platform that does not match is never fetched.
 *
 *   node scripts/lock-platforms.ts           add the missing entries
 *   node scripts/lock-platforms.ts --check   fail if any is missing (part of `npm run check`)
 *
 * Run it after any `npm install` that rewrote the lock (a dependency added or upgraded).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../core/endpoints.ts';

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  license?: string;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

const LOCK = join(PROJECT_ROOT, 'package-lock.json');
const PLATFORM =
  /-(android|darwin|freebsd|linux|openbsd|sunos|win32|aix)-(x64|arm64|arm|ia32|ppc64|s390x|riscv64|loong64)(?:-(musl|gnu|gnueabihf|msvc))?$/;

/** Where npm would look for `name` from the package at `from`: its own node_modules, then up. */
function resolves(packages: Record<string, LockEntry>, from: string, name: string): boolean {
  let dir = from;
  for (;;) {
    if (packages[`${dir ? `${dir}/` : ''}node_modules/${name}`]) return true;
    if (dir === '') return false;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut < 0 ? '' : dir.slice(0, cut);
  }
}

export interface Missing {
  parent: string;
  name: string;
  spec: string;
}

export function missingOptional(lock: Lock): Missing[] {
  const out: Missing[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
      if (!resolves(lock.packages, path, name)) out.push({ parent: path, name, spec });
    }
  }
  return out;
}

function entryFor(lock: Lock, { parent, name, spec }: Missing): LockEntry {
  if (!/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec)) {
    throw new Error(`${parent} wants ${name}@${spec}: not an exact version, so not written by hand`);
  }
  const platform = PLATFORM.exec(name);
  if (!platform) throw new Error(`${parent} wants ${name}@${spec}: no platform in its name`);
  const [, os, cpu, abi] = platform as unknown as [string, string, string, string | undefined];
  const parentEntry = lock.packages[parent]!;
  const siblings = Object.keys(parentEntry.optionalDependencies ?? {})
    .map((n) => lock.packages[`node_modules/${n}`] ?? lock.packages[`${parent}/node_modules/${n}`])
    .filter((e): e is LockEntry => e !== undefined);
  let libc: string[] | undefined;
  if (abi === 'musl') libc = ['musl'];
  else if (abi === 'gnu' || abi === 'gnueabihf') libc = ['glibc'];
  else if (os === 'linux') libc = siblings.find((s) => s.os?.includes('linux') && s.libc)?.libc;
  const entry: LockEntry = { version: spec, cpu: [cpu] };
  if (parentEntry.dev) entry.dev = true;
  if (parentEntry.devOptional) entry.devOptional = true;
  if (libc) entry.libc = [...libc];
  if (parentEntry.license) entry.license = parentEntry.license;
  entry.optional = true;
  entry.os = [os];
  return entry;
}

export function addMissing(lock: Lock): Missing[] {
  const missing = missingOptional(lock);
  for (const m of missing) {
    const hoisted = `node_modules/${m.name}`;
    const where = lock.packages[hoisted] ? `${m.parent}/node_modules/${m.name}` : hoisted;
    lock.packages[where] = entryFor(lock, m);
  }
  // npm's own order: the root first, then by path (localeCompare 'en').
  const sorted = Object.entries(lock.packages).sort(([a], [b]) =>
    a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'),
  );
  lock.packages = Object.fromEntries(sorted);
  return missing;
}

if (import.meta.main) {
  const text = readFileSync(LOCK, 'utf8');
  const lock = JSON.parse(text) as Lock;
  const describe = (m: Missing) => `  ${m.name}@${m.spec} (optional dependency of ${m.parent})`;
  if (process.argv.includes('--check')) {
    const missing = missingOptional(lock);
    if (missing.length > 0) {
      process.stderr.write(
        `package-lock.json lacks ${missing.length} optional platform package(s), so \`npm ci\` (the Dockerfile, ` +
          `a clean setup) would fail:\n${missing.map(describe).join('\n')}\n` +
          'Run `node scripts/lock-platforms.ts` to add them.\n',
      );
      process.exit(1);
    }
    process.stdout.write('package-lock.json lists every optional platform package\n');
  } else {
    const added = addMissing(lock);
    if (added.length > 0) writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
    process.stdout.write(
      added.length > 0
        ? `added to package-lock.json:\n${added.map(describe).join('\n')}\n`
        : 'package-lock.json lists every optional platform package\n',
    );
  }
}
