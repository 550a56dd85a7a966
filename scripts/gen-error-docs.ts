/**
 * Writes docs/errors.md from the error table in core/errors.ts; `--check` fails when it is stale,
 * so the documented codes are always the real ones.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../core/endpoints.ts';
import { ERRORS } from '../core/errors.ts';

const OUT = join(PROJECT_ROOT, 'docs', 'errors.md');
const AREAS: Record<string, string> = { LG: 'Shared', ING: 'Ingest', DET: 'Detector', ENF: 'Enforcer' };

let text = `# Error codes\n\nGenerated from \`core/errors.ts\` by \`npm run gen:docs\`. Every 4xx/5xx body is\n\`{ "code", "message", "retriable", "details"? }\`; every dead-letter record names its \`errorCode\`.\nA retriable error (503) comes with \`Retry-After\`.\n`;
for (const [prefix, title] of Object.entries(AREAS)) {
  const rows = Object.entries(ERRORS).filter(([code]) => code.startsWith(`${prefix}_ERR_`));
  if (rows.length === 0) continue;
  text += `\n## ${title}\n\n| code | HTTP | retriable | meaning |\n|---|---|---|---|\n`;
  for (const [code, spec] of rows)
    text += `| \`${code}\` | ${spec.httpStatus} | ${spec.retriable ? 'yes' : 'no'} | ${spec.message} |\n`;
}

if (process.argv.includes('--check')) {
  if (readFileSync(OUT, 'utf8') !== text) {
    console.error('docs/errors.md is stale: run `npm run gen:docs`');
    process.exit(1);
  }
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT}`);
}
