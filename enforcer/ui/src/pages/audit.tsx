import { useState } from 'preact/hooks';
import { call, query } from '../api.ts';
import { time } from '../format.ts';
import type { PolicyChange, RevocationView } from '../types.ts';
import { Card, Empty, ErrorBox, Loading, useLoad } from '../ui.tsx';
import { ManualRevoke, RevocationsTable } from './revocations.tsx';

/** Rows listed at first and added by "show more" (newest first). */
const PAGE = 50;

function policyText(json: string | null): string {
  if (!json) return '(default)';
  const p = JSON.parse(json) as Record<string, unknown>;
  if (p.mode === undefined) return json;
  const parts = [String(p.mode)];
  if (p.mode === 'automate') parts.push(`${p.rolloutPercent} %`);
  parts.push(String(p.action));
  return parts.join(' · ');
}

export function AuditPage() {
  const [limit, setLimit] = useState(PAGE);
  const { data, error } = useLoad(
    () => call<{ items: PolicyChange[] }>('GET', `/v1/policies/changes${query({ limit })}`),
    [limit],
  );
  if (error) return <ErrorBox error={error} />;
  if (!data) return <Loading />;
  return (
    <div class="page">
      <h1>Policy audit</h1>
      <Card title={`The ${data.items.length} latest changes`}>
        {data.items.length === 0 ? (
          <Empty>No policy has been changed through the API.</Empty>
        ) : (
          <table class="grid">
            <thead>
              <tr>
                <th>when</th>
                <th>target</th>
                <th>who</th>
                <th>before</th>
                <th>after</th>
                <th>reason</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((c) => (
                <tr key={c.id} data-change={c.id}>
                  <td class="nowrap">{time(c.changedAtMs)}</td>
                  <td class="mono">{c.target}</td>
                  <td>{c.changedBy}</td>
                  <td>{policyText(c.beforeJson)}</td>
                  <td>
                    <b>{policyText(c.afterJson)}</b>
                  </td>
                  <td>{c.comment ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {data.items.length === limit && (
          <button type="button" class="more" onClick={() => setLimit(limit + PAGE)}>
            Show older changes
          </button>
        )}
      </Card>
    </div>
  );
}

export function RevocationsPage() {
  const [status, setStatus] = useState<'active' | 'lifted' | 'expired'>('active');
  const [limit, setLimit] = useState(PAGE);
  const { data, error, reload } = useLoad(
    () =>
      call<{ items: RevocationView[]; total: number }>('GET', `/v1/revocations${query({ status, limit })}`),
    [status, limit],
  );
  return (
    <div class="page">
      <h1>Revocations</h1>
      <Card title="Revoke by hand">
        <ManualRevoke onDone={reload} />
      </Card>
      <div class="filters">
        <label>
          Status
          <select
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value as typeof status)}
            name="rev-status"
          >
            <option value="active">active</option>
            <option value="lifted">lifted</option>
            <option value="expired">expired</option>
          </select>
        </label>
      </div>
      <ErrorBox error={error} />
      {!data ? (
        <Loading />
      ) : data.items.length === 0 ? (
        <Empty>No {status} revocations.</Empty>
      ) : (
        <Card
          title={`${data.total} ${status}${data.total > data.items.length ? `, the newest ${data.items.length} shown` : ''}`}
        >
          <RevocationsTable items={data.items} onChange={reload} />
          {data.total > data.items.length && (
            <button type="button" class="more" onClick={() => setLimit(limit + PAGE)}>
              Show {Math.min(PAGE, data.total - data.items.length)} more
            </button>
          )}
        </Card>
      )}
    </div>
  );
}
