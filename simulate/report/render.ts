/**
 * The quality report as a person reads it: markdown with a verdict on top, tables, the
 * shortfalls in words, and hand-written SVG charts (no dependencies, render anywhere).
 */
import type { Percentiles, QualityReport } from './compute.ts';
import { TARGETS } from './compute.ts';

const GREEN = '#2e7d32';
const RED = '#c62828';
const BLUE = '#1565c0';
const GREY = '#9e9e9e';
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function pct(x: number | null, digits = 2): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(digits)} %`;
}

function secs(ms: number | null): string {
  return ms === null ? 'n/a' : `${(ms / 1000).toFixed(1)} s`;
}

function p(pp: Percentiles): string {
  return pp.n === 0 ? 'n/a' : `${secs(pp.p50Ms)} / ${secs(pp.p99Ms)}`;
}

/** Horizontal bars of precision and recall per rule, with the targets as dashed lines. */
export function precisionRecallSvg(report: QualityReport): string {
  const rules = report.rules;
  const rowH = 34;
  const left = 190;
  const width = 720;
  const plotW = width - left - 60;
  const height = 60 + rules.length * rowH + 40;
  const x = (v: number) => left + v * plotW;
  const parts: string[] = [];
  parts.push(
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">Precision and recall per rule</text>`,
  );
  rules.forEach((r, i) => {
    const y = 44 + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${esc(r.rule)}</text>`);
    const prec = r.precision;
    const rec = r.recall;
    if (prec !== null) {
      const ok = prec >= TARGETS.precision;
      parts.push(
        `<rect x="${left}" y="${y + 2}" width="${(prec * plotW).toFixed(1)}" height="11" fill="${ok ? GREEN : RED}"><title>precision ${pct(prec)}</title></rect>`,
      );
      parts.push(`<text x="${x(prec) + 4}" y="${y + 12}" font-size="10">${pct(prec, 1)}</text>`);
    } else {
      parts.push(`<text x="${left + 4}" y="${y + 12}" font-size="10" fill="${GREY}">no flags</text>`);
    }
    if (rec !== null) {
      const ok = rec >= TARGETS.recall;
      parts.push(
        `<rect x="${left}" y="${y + 15}" width="${(rec * plotW).toFixed(1)}" height="11" fill="${ok ? BLUE : RED}" opacity="0.75"><title>recall ${pct(rec)}</title></rect>`,
      );
      parts.push(`<text x="${x(rec) + 4}" y="${y + 25}" font-size="10">${pct(rec, 1)}</text>`);
    }
  });
  const bottom = 44 + rules.length * rowH;
  for (const [v, label] of [
    [TARGETS.precision, 'precision target'],
    [TARGETS.recall, 'recall target'],
  ] as const) {
    parts.push(
      `<line x1="${x(v)}" y1="40" x2="${x(v)}" y2="${bottom}" stroke="#555" stroke-dasharray="4 3"><title>${label} ${pct(v)}</title></line>`,
    );
  }
  for (const v of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<text x="${x(v)}" y="${bottom + 16}" text-anchor="middle" font-size="10" fill="#555">${v * 100}%</text>`,
    );
  }
  parts.push(
    `<rect x="${left}" y="${bottom + 26}" width="12" height="10" fill="${GREEN}"/><text x="${left + 16}" y="${bottom + 35}" font-size="11">precision</text>`,
    `<rect x="${left + 90}" y="${bottom + 26}" width="12" height="10" fill="${BLUE}" opacity="0.75"/><text x="${left + 106}" y="${bottom + 35}" font-size="11">recall (of accounts the rule should catch)</text>`,
    `<rect x="${left + 370}" y="${bottom + 26}" width="12" height="10" fill="${RED}"/><text x="${left + 386}" y="${bottom + 35}" font-size="11">under target</text>`,
  );
  return svg(width, height, 'Precision and recall per rule', parts);
}

/** p50 and p99 delay from abuse start to flag (per rule and overall) and to revocation. */
export function latencySvg(report: QualityReport): string {
  const rows: Array<{ label: string; pp: Percentiles }> = [
    { label: 'any rule → flag', pp: report.overall.timeToFlag },
    { label: 'abuse → revocation', pp: report.overall.timeToRevocation },
    { label: 'trigger → revocation', pp: report.overall.triggerToRevocation },
    ...report.rules.filter((r) => r.timeToFlag.n > 0).map((r) => ({ label: r.rule, pp: r.timeToFlag })),
  ];
  const maxMs = Math.max(TARGETS.revocationP99Ms, ...rows.map((r) => r.pp.p99Ms ?? 0));
  const rowH = 26;
  const left = 190;
  const width = 720;
  const plotW = width - left - 70;
  const height = 60 + rows.length * rowH + 40;
  const x = (ms: number) => left + (ms / maxMs) * plotW;
  const parts: string[] = [
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">Time from abuse start (p50 ● … p99 ▮)</text>`,
  ];
  rows.forEach((r, i) => {
    const y = 46 + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end" font-size="12">${esc(r.label)}</text>`);
    if (r.pp.n === 0) {
      parts.push(`<text x="${left + 4}" y="${y + 4}" font-size="10" fill="${GREY}">not measured</text>`);
      return;
    }
    const p50 = r.pp.p50Ms ?? 0;
    const p99 = r.pp.p99Ms ?? 0;
    const color = i === 1 && p99 >= TARGETS.revocationP99Ms ? RED : i === 1 ? GREEN : BLUE;
    parts.push(
      `<line x1="${x(p50)}" y1="${y}" x2="${x(p99)}" y2="${y}" stroke="${color}" stroke-width="3"/>`,
    );
    parts.push(
      `<circle cx="${x(p50)}" cy="${y}" r="5" fill="${color}"><title>p50 ${secs(p50)}</title></circle>`,
    );
    parts.push(
      `<rect x="${x(p99) - 2}" y="${y - 7}" width="4" height="14" fill="${color}"><title>p99 ${secs(p99)}</title></rect>`,
    );
    parts.push(
      `<text x="${x(p99) + 6}" y="${y + 4}" font-size="10">${secs(p50)} / ${secs(p99)} (n=${r.pp.n})</text>`,
    );
  });
  const bottom = 46 + rows.length * rowH;
  parts.push(
    `<line x1="${x(TARGETS.revocationP99Ms)}" y1="36" x2="${x(TARGETS.revocationP99Ms)}" y2="${bottom - 10}" stroke="${RED}" stroke-dasharray="4 3"><title>revocation p99 target</title></line>`,
    `<text x="${x(TARGETS.revocationP99Ms)}" y="${bottom + 4}" text-anchor="middle" font-size="10" fill="${RED}">${TARGETS.revocationP99Ms / 1000} s target</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const ms = (maxMs * i) / 4;
    parts.push(
      `<text x="${x(ms)}" y="${bottom + 20}" text-anchor="middle" font-size="10" fill="#555">${secs(ms)}</text>`,
    );
  }
  return svg(width, height, 'Time from abuse start (p50 and p99)', parts);
}

/** Which rules flag which classes: green cells are abusers caught, red cells legitimate accounts flagged. */
export function classRuleMatrixSvg(report: QualityReport): string {
  const rules = report.rules.map((r) => r.rule);
  const classes = report.classes;
  const left = 150;
  const top = 150;
  const cell = 38;
  const width = left + rules.length * cell + 150;
  const height = top + classes.length * cell + 30;
  const parts: string[] = [
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">Accounts flagged, by class and rule</text>`,
  ];
  rules.forEach((r, j) => {
    const cx = left + j * cell + cell / 2;
    parts.push(
      `<text transform="translate(${cx + 4},${top - 8}) rotate(-55)" font-size="11">${esc(r)}</text>`,
    );
  });
  parts.push(
    `<text x="${left + rules.length * cell + 10}" y="${top - 8}" font-size="11" font-weight="600">flagged / accounts</text>`,
  );
  classes.forEach((c, i) => {
    const y = top + i * cell;
    parts.push(
      `<text x="${left - 8}" y="${y + cell / 2 + 4}" text-anchor="end" font-size="12" fill="${c.label === 'abuser' ? RED : '#333'}">${esc(c.class)}</text>`,
    );
    rules.forEach((r, j) => {
      const n = c.byRule[r] ?? 0;
      const share = c.accounts ? n / c.accounts : 0;
      const base = c.label === 'abuser' ? '46,125,50' : '198,40,40';
      // A legitimate account flagged is an error however rare: its cell must stand out.
      const alpha = n === 0 ? 0 : c.label === 'abuser' ? 0.15 + 0.85 * share : 0.5 + 0.5 * share;
      parts.push(
        `<rect x="${left + j * cell}" y="${y}" width="${cell - 2}" height="${cell - 2}" fill="rgba(${base},${alpha.toFixed(3)})" stroke="#ddd"><title>${esc(c.class)} × ${esc(r)}: ${n} of ${c.accounts}</title></rect>`,
      );
      if (n > 0) {
        parts.push(
          `<text x="${left + j * cell + cell / 2 - 1}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="10" fill="${share > 0.5 ? '#fff' : '#000'}">${n}</text>`,
        );
      }
    });
    const ok = c.label === 'abuser' ? c.flagged === c.accounts : c.flagged === 0;
    parts.push(
      `<text x="${left + rules.length * cell + 10}" y="${y + cell / 2 + 4}" font-size="12" fill="${ok ? GREEN : RED}">${c.flagged} / ${c.accounts}</text>`,
    );
  });
  return svg(width, height, 'Accounts flagged, by class and rule', parts);
}

/** A chart document; the title element names it for screen readers and tooltips. */
function svg(width: number, height: number, title: string, parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} role="img">
<title>${title}</title>
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}

/** Names of the chart files renderMarkdown links to. */
export const CHART_FILES = {
  precisionRecall: 'precision-recall.svg',
  latency: 'time-to-detect.svg',
  matrix: 'class-rule-matrix.svg',
} as const;

export function renderMarkdown(report: QualityReport, title = 'Detection quality'): string {
  const o = report.overall;
  const mark = (ok: boolean | null) => (ok === null ? '—' : ok ? '✅' : '❌');
  const lines: string[] = [];
  lines.push(`# ${title}`, '');
  lines.push(
    `${report.inputs.viewers} accounts (${report.inputs.abusers} abusive, ${report.inputs.legit} legitimate); ` +
      `${report.inputs.distinctFlags} distinct flags (${report.inputs.flags} records), ${report.inputs.revocations} revocations.`,
    '',
  );
  lines.push('| figure | value | target | |', '|---|---|---|---|');
  lines.push(
    `| precision | ${pct(o.precision)} | ≥ ${pct(TARGETS.precision, 1)} | ${mark(report.meets.precision)} |`,
  );
  lines.push(
    `| recall (abusive accounts flagged) | ${pct(o.recall)} | ≥ ${pct(TARGETS.recall, 0)} | ${mark(report.meets.recall)} |`,
  );
  lines.push(`| false-positive rate (legitimate accounts flagged) | ${pct(o.falsePositiveRate, 3)} | | |`);
  lines.push(`| abuse start → first flag, p50 / p99 | ${p(o.timeToFlag)} | | |`);
  lines.push(
    `| abuse start → revocation, p50 / p99 | ${p(o.timeToRevocation)} | p99 < ${TARGETS.revocationP99Ms / 1000} s | ${mark(report.meets.revocationP99)} |`,
  );
  lines.push(
    `| threshold-crossing request → revocation, p50 / p99 | ${p(o.triggerToRevocation)} | p99 < 1 s (live) | |`,
  );
  lines.push(`| abusive accounts revoked | ${o.revokedAbusers} of ${report.inputs.abusers} | | |`);
  lines.push(
    `| legitimate accounts revoked | ${o.revokedLegit} | 0 | ${mark(report.inputs.revocations ? o.revokedLegit === 0 : null)} |`,
  );
  lines.push('');
  lines.push(`![precision and recall per rule](${CHART_FILES.precisionRecall})`, '');
  lines.push('## Where it falls short', '');
  if (report.shortfalls.length === 0) lines.push('Nothing: every figure meets its target.', '');
  else for (const s of report.shortfalls) lines.push(`- ${s}`);
  lines.push('');
  lines.push('## Per rule', '');
  lines.push(
    '| rule | accounts flagged | precision | recall (caught / expected) | not judgeable (signal missing) | false positives (by class) | abuse → flag p50 / p99 |',
    '|---|---|---|---|---|---|---|',
  );
  for (const r of report.rules) {
    const fpText = r.falsePositives
      ? `${r.falsePositives}: ${Object.entries(r.falsePositiveByClass)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`
      : '0';
    lines.push(
      `| ${r.rule} | ${r.flaggedAccounts} | ${pct(r.precision)} | ${r.expected ? `${pct(r.recall)} (${r.caught} / ${r.expected})` : 'n/a'} | ${r.notJudgeable} | ${fpText} | ${p(r.timeToFlag)} |`,
    );
  }
  lines.push('');
  const tenants = Object.entries(report.signals?.tenants ?? {});
  if (tenants.length > 0) {
    lines.push('## Signals per tenant', '');
    lines.push('| tenant | CDN logs | heartbeats | rules silent for want of a signal |', '|---|---|---|---|');
    for (const [tenant, t] of tenants) {
      lines.push(
        `| ${tenant} | ${t.cdnLogs ? 'yes' : 'no'} | ${t.heartbeats ? 'yes' : 'no'} | ${t.silencedRules.join(', ') || '—'} |`,
      );
    }
    lines.push(
      '',
      `Abusive accounts whose every expected rule needs a signal their tenant does not send: ${report.signals.abusersWithoutSignals}.`,
      '',
    );
  }
  lines.push(`![time from abuse start to flag and revocation](${CHART_FILES.latency})`, '');
  lines.push('## Per class', '');
  lines.push(
    '| class | truth | accounts | flagged | revoked | rules that fired |',
    '|---|---|---|---|---|---|',
  );
  for (const c of report.classes) {
    const fired = Object.entries(c.byRule)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    lines.push(`| ${c.class} | ${c.label} | ${c.accounts} | ${c.flagged} | ${c.revoked} | ${fired || '—'} |`);
  }
  lines.push('');
  lines.push(`![accounts flagged by class and rule](${CHART_FILES.matrix})`, '');
  if (report.inputs.unattributedFlags || report.inputs.unattributedRevocations) {
    lines.push(
      `${report.inputs.unattributedFlags} flag(s) and ${report.inputs.unattributedRevocations} revocation(s) named no account of the truth ` +
        '(e.g. session-only subjects without an account id) and are left out of the figures.',
      '',
    );
  }
  lines.push(
    'Precision = abusive accounts flagged / accounts flagged. Recall = abusive accounts flagged / abusive accounts ' +
      '(per rule: of the abusive accounts whose class that rule is expected to catch). Times are event time of the first flag ' +
      "(Anomaly.detectedAtMs) and issue time of the first revocation (Revocation.issuedAtMs) minus the truth's abuse start.",
    '',
  );
  return lines.join('\n');
}
