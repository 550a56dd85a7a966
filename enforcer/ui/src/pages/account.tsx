import { call } from '../api.ts';
import { ago, time } from '../format.ts';
import type { Flag, RevocationView } from '../types.ts';
import { Card, Empty, ErrorBox, Loading, Pill, Stat, useLoad } from '../ui.tsx';
import { FlagsTable } from './flags.tsx';
import { ManualRevoke, RevocationsTable } from './revocations.tsx';

interface Account {
  accountId: string;
  tenant: string;
  plan: {
    plan: { planId?: string; streamLimit?: number; perTitleLimit?: number | null };
    tenant: string;
  } | null;
  sessions: Array<{
    sessionId: string;
    deviceId: string;
    contentId: string;
    startedAtMs: number;
    lastSeenMs: number;
  }> | null;
  flags: Flag[];
  reviews: Array<{
    anomalyId: string;
    rule: string;
    status: string;
    decidedBy: string | null;
    comment: string | null;
    createdAtMs: number;
  }>;
  revocations: RevocationView[];
  timeline: Array<{ atMs: number; kind: string; text: string; ref: string }>;
}

export function AccountPage({ id }: { id: string }) {
  const {
    data: a,
    error,
    reload,
  } = useLoad(() => call<Account>('GET', `/v1/accounts/${encodeURIComponent(id)}`), [id]);
  if (error) return <ErrorBox error={error} />;
  if (!a) return <Loading />;
  const plan = a.plan?.plan;
  const active = a.revocations.filter((r) => r.status === 'active').length;
  return (
    <div class="page">
      <h1>
        Account <span class="mono">{a.accountId}</span> <span class="muted small">tenant {a.tenant}</span>
      </h1>
      <div class="stats">
        <Stat
          label="Plan"
          value={plan ? (plan.planId ?? 'tenant default') : '—'}
          sub={
            plan
              ? `${plan.streamLimit ?? '?'} streams${plan.perTitleLimit ? `, ${plan.perTitleLimit} per title` : ''}`
              : 'not served here'
          }
        />
        <Stat label="Active sessions" value={a.sessions ? a.sessions.length : '—'} />
        <Stat
          label="Flags held"
          value={a.flags.length}
          sub={`${a.reviews.filter((r) => r.status === 'pending').length} reviews pending`}
        />
        <Stat label="Revocations in force" value={active} sub={`${a.revocations.length} in all`} />
      </div>
      <Card
        title="Revocations"
        actions={<ManualRevoke accountId={a.accountId} tenant={a.tenant} onDone={reload} />}
      >
        {a.revocations.length === 0 ? (
          <Empty>None.</Empty>
        ) : (
          <RevocationsTable items={a.revocations} onChange={reload} />
        )}
      </Card>
      <div class="two">
        <Card title="Active sessions">
          {!a.sessions || a.sessions.length === 0 ? (
            <Empty>
              {a.sessions ? 'None playing now.' : 'Session admission is not served by this process.'}
            </Empty>
          ) : (
            <table class="grid">
              <thead>
                <tr>
                  <th>session</th>
                  <th>device</th>
                  <th>content</th>
                  <th>started</th>
                  <th>last seen</th>
                </tr>
              </thead>
              <tbody>
                {a.sessions.map((s) => (
                  <tr key={s.sessionId}>
                    <td class="mono" title={s.sessionId}>
                      {s.sessionId.slice(0, 8)}…
                    </td>
                    <td>{s.deviceId}</td>
                    <td>{s.contentId}</td>
                    <td class="nowrap" title={time(s.startedAtMs)}>
                      {ago(s.startedAtMs)}
                    </td>
                    <td class="nowrap" title={time(s.lastSeenMs)}>
                      {ago(s.lastSeenMs)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <Card title="Timeline">
          {a.timeline.length === 0 ? (
            <Empty>Nothing yet.</Empty>
          ) : (
            <ol class="timeline">
              {a.timeline.slice(0, 50).map((t) => (
                <li key={`${t.kind}-${t.ref}-${t.atMs}`} class={`tl-${t.kind}`}>
                  <span class="tl-time">{time(t.atMs)}</span>
                  <Pill v={t.kind} /> <span>{t.text}</span>
                </li>
              ))}
            </ol>
          )}
        </Card>
      </div>
      <Card title={`Flags (${a.flags.length})`}>
        {a.flags.length === 0 ? (
          <Empty>None held.</Empty>
        ) : (
          <FlagsTable flags={a.flags} showAccount={false} />
        )}
      </Card>
      <Card title={`Reviews (${a.reviews.length})`}>
        {a.reviews.length === 0 ? (
          <Empty>None.</Empty>
        ) : (
          <table class="grid">
            <thead>
              <tr>
                <th>queued</th>
                <th>rule</th>
                <th>status</th>
                <th>by</th>
                <th>comment</th>
              </tr>
            </thead>
            <tbody>
              {a.reviews.map((r) => (
                <tr key={r.anomalyId}>
                  <td class="nowrap">{time(r.createdAtMs)}</td>
                  <td>{r.rule}</td>
                  <td>
                    <Pill v={r.status} />
                  </td>
                  <td>{r.decidedBy ?? '—'}</td>
                  <td>{r.comment ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
