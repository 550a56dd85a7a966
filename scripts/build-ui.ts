/**
 * Builds the analyst console (enforcer/ui/src, Preact + uPlot) into enforcer/ui/dist: one
 * script, one stylesheet and the page, everything bundled (the page fetches nothing from the
 * internet). Run by scripts/setup.sh and by `npm test`; the enforcer serves dist/ under /ui/.
 */
import { copyFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('../enforcer/ui/', import.meta.url).pathname;
const out = join(root, 'dist');

await build({
  entryPoints: { app: join(root, 'src/main.tsx') },
  bundle: true,
  outdir: out,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(join(root, 'src/index.html'), join(out, 'index.html'));
const files = readdirSync(out).map((f) => `${f} ${statSync(join(out, f)).size} B`);
process.stdout.write(`console built: ${files.join(', ')}\n`);
