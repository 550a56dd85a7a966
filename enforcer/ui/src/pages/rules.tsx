import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { call } from '../api.ts';
import { TimeChart } from '../chart.tsx';
import { duration, num, pct } from '../format.ts';
import type { Precision, RulePolicy, RuleRow } from '../types.ts';
import { Card, Empty, ErrorBox, Loading, Pill, useLoad } from '../ui.tsx';

interface Rules {
  days: string[];
  defaultPolicy: RulePolicy;
  rules: RuleRow[];
}

interface Preview {
  flags: number;
  outcomes: Record<string, number>;
  revocations: number;
  accounts: number;
  sample: Array<{
    id: string;
    accountId: string | null;
    severity: string;
    detectedAtMs: number;
    subject: string;
  }>;
}

const ACTIONS = ['block_token', 'evict_session', 'block_account', 'throttle', 'substitute'];
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

function PrecisionBar({ p }: { p: Precision }) {
  if (p.precision === null || p.low === null || p.high === null)
    return <span class="muted">no decisions yet</span>;
  return (
    <span class="precision" title={`95 % Wilson interval ${pct(p.low)} – ${pct(p.high)}`}>
      <span class="ci">
        <span class="ci-range" style={{ left: `${p.low * 100}%`, width: `${(p.high - p.low) * 100}%` }} />
        <span class="ci-point" style={{ left: `${p.precision * 100}%` }} />
      </span>
      <b>{pct(p.precision)}</b>{' '}
      <span class="muted small">
        {pct(p.low)}–{pct(p.high)} · {p.approved}/{p.approved + p.rejected}
      </span>
    </span>
  );
}

function RuleDetail({ row, days, onChanged }: { row: RuleRow; days: string[]; onChanged: () => void }) {
  const [policy, setPolicy] = useState<RulePolicy>({ ...row.policy });
  const [lookback, setLookback] = useState(7);
  const [preview, setPreview] = useState<Preview>();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();
  const set = (p: Partial<RulePolicy>) => setPolicy({ ...policy, ...p });
  async function runPreview() {
    try {
      setPreview(
        await call<Preview>('POST', `/v1/rules/${encodeURIComponent(row.rule)}/preview`, {
          policy,
          days: lookback,
        }),
      );
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    }
  }
  async function apply() {
    try {
      await call('PUT', `/v1/policies/rules/${encodeURIComponent(row.rule)}`, { policy, comment: reason });
      setDone(
        `${row.rule} is now ${policy.mode}${policy.mode === 'automate' ? ` at ${policy.rolloutPercent} %` : ''}`,
      );
      setError(undefined);
      setReason('');
      onChanged();
    } catch (e) {
      setError((e as Error).message);
    }
  }
  const startMs = Date.parse(`${days[0]}T00:00:00Z`);
  return (
    <div class="rule-detail">
      <TimeChart
        startMs={startMs}
        stepMs={86_400_000}
        height={180}
        bars
        series={[
          { label: 'flags', values: row.flagsPerDay },
          { label: 'would have revoked', values: row.wouldHavePerDay },
        ]}
      />
      <div class="policy-form">
        <label>
          Mode
          <select
            value={policy.mode}
            onChange={(e) => set({ mode: e.currentTarget.value as RulePolicy['mode'] })}
            name="mode"
          >
            <option value="monitor">monitor</option>
            <option value="moderate">moderate (review)</option>
            <option value="automate">automate</option>
          </select>
        </label>
        <label>
          Rollout %
          <input
            type="number"
            min={0}
            max={100}
            value={policy.rolloutPercent}
            onInput={(e) => set({ rolloutPercent: Number(e.currentTarget.value) })}
            name="rollout"
          />
        </label>
        <label>
          Action
          <select
            value={policy.action}
            onChange={(e) => set({ action: e.currentTarget.value })}
            name="action"
          >
            {ACTIONS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          Duration (h)
          <input
            type="number"
            min={1}
            max={720}
            step="any"
            value={Math.round((policy.durationMs / 3_600_000) * 100) / 100}
            onInput={(e) => set({ durationMs: Math.round(Number(e.currentTarget.value) * 3_600_000) })}
            name="duration"
          />
        </label>
        <label>
          Preview over
          <select
            value={lookback}
            onChange={(e) => setLookback(Number(e.currentTarget.value))}
            name="lookback"
          >
            <option value={1}>1 day</option>
            <option value={7}>7 days</option>
            <option value={14}>14 days</option>
            <option value={35}>35 days</option>
          </select>
        </label>
        <button type="button" onClick={runPreview} data-act="preview">
          Preview
        </button>
      </div>
      {preview && (
        <div class="preview" data-preview>
          Over the last {lookback} d, this policy would have met <b>{num(preview.flags)}</b> flags:{' '}
          <b>{num(preview.revocations)}</b> revocations on <b>{num(preview.accounts)}</b> accounts,{' '}
          {num(preview.outcomes.review ?? 0)} to review, {num(preview.outcomes['would-have'] ?? 0)}{' '}
          would-have, {num(preview.outcomes['allow-listed'] ?? 0)} allow-listed.
          {preview.sample.length > 0 && (
            <div class="muted small">
              e.g.{' '}
              {preview.sample
                .slice(0, 5)
                .map((s) => s.accountId ?? s.subject)
                .join(', ')}
            </div>
          )}
        </div>
      )}
      <div class="policy-form">
        <input
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
          placeholder="reason for the change (audited)"
          name="change-reason"
          class="wide"
        />
        <button
          type="button"
          class="primary"
          disabled={!reason.trim()}
          onClick={apply}
          data-act="apply-policy"
        >
          Apply change
        </button>
      </div>
      {done && <div class="notice">{done}</div>}
      <ErrorBox error={error} />
    </div>
  );
}

export function RulesPage() {
  const { data, error, reload } = useLoad(() => call<Rules>('GET', '/v1/rules?days=14'), []);
  const [open, setOpen] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading />;
  const rules = data.rules.filter((r) => r.rule.includes(filter.trim()));
  return (
    <div class="page">
      <h1>Rules</h1>
      <p class="muted">
        Precision is the share of reviewed flags analysts approved, with its 95 % Wilson interval. Default
        policy: <Pill v={data.defaultPolicy.mode} /> {data.defaultPolicy.action}.
      </p>
      {data.rules.length === 0 ? (
        <Empty>No rule has flagged yet.</Empty>
      ) : (
        <Card
          title={`${rules.length} of ${data.rules.length} rules · last ${data.days.length} days`}
          actions={
            <input
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
              placeholder="filter rules"
              name="rule-filter"
            />
          }
        >
          <table class="grid rules">
            <thead>
              <tr>
                <th>rule</th>
                <th>mode</th>
                <th class="num">rollout</th>
                <th>action</th>
                <th class="num">flags</th>
                <th class="num">would have</th>
                <th class="num">pending</th>
                <th>precision (95 % CI)</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <Fragment key={r.rule}>
                  <tr data-rule={r.rule}>
                    <td class="rule-name">
                      <b>{r.rule}</b>
                      {!r.ownPolicy && <div class="muted small">default policy</div>}
                    </td>
                    <td>
                      <Pill v={r.policy.mode} />
                    </td>
                    <td class="num">{r.policy.mode === 'automate' ? `${r.policy.rolloutPercent} %` : '—'}</td>
                    <td class="nowrap">
                      {r.policy.action} <span class="muted small">{duration(r.policy.durationMs)}</span>
                    </td>
                    <td class="num">{num(sum(r.flagsPerDay))}</td>
                    <td class="num">{num(sum(r.wouldHavePerDay))}</td>
                    <td class="num">{num(r.reviews.pending)}</td>
                    <td>
                      <PrecisionBar p={r.precision} />
                    </td>
                    <td>
                      <button
                        type="button"
                        class="small"
                        onClick={() => setOpen(open === r.rule ? null : r.rule)}
                        data-act="open-rule"
                      >
                        {open === r.rule ? 'Close' : 'Change…'}
                      </button>
                    </td>
                  </tr>
                  {open === r.rule && (
                    <tr class="detail">
                      <td colSpan={9}>
                        <RuleDetail row={r} days={data.days} onChanged={reload} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </Card>
      )}
    </div>
  );
}
