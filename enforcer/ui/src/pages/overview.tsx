import { useState } from 'preact/hooks';
import { call, query } from '../api.ts';
import { TimeChart } from '../chart.tsx';
import { ago, duration, num } from '../format.ts';
import { AccountLink, Card, Empty, ErrorBox, Loading, Stat, useLoad } from '../ui.tsx';

interface Overview {
  startMs: number;
  bucketMs: number;
  flags: Record<string, number[]>;
  revocations: Record<string, number[]>;
  reviews: Record<string, number[]>;
  backlog: {
    pending: number;
    oldestAgeMs: number | null;
    medianAgeMs: number | null;
    olderThan1h: number;
    olderThan24h: number;
  };
  revocationsActive: number;
  tenants: Array<{
    tenant: string;
    flags: number;
    lastFlagMs: number;
    lagP50Ms: number | null;
    lagP95Ms: number | null;
    rules: Record<string, number>;
  }>;
  topAccounts: Array<{ accountId: string; tenant: string; flags: number; rules: string[] }>;
}

const toSeries = (m: Record<string, number[]>) =>
  Object.entries(m).map(([label, values]) => ({ label, values }));
const total = (m: Record<string, number[]>) =>
  Object.values(m).reduce((s, v) => s + v.reduce((x, y) => x + y, 0), 0);

const SPANS = {
  '1': { hours: 1, bucketMinutes: 2, label: 'last hour' },
  '6': { hours: 6, bucketMinutes: 10, label: 'last 6 hours' },
  '48': { hours: 48, bucketMinutes: 60, label: 'last 48 hours' },
  '336': { hours: 336, bucketMinutes: 360, label: 'last 14 days' },
} as const;
type Span = keyof typeof SPANS;
const bucketText = (min: number) => (min < 60 ? `${min} min` : min === 60 ? 'hour' : `${min / 60} h`);

function Chart({ title, m, o }: { title: string; m: Record<string, number[]>; o: Overview }) {
  return (
    <Card title={title}>
      {Object.keys(m).length === 0 ? (
        <Empty>Nothing in this span.</Empty>
      ) : (
        <TimeChart startMs={o.startMs} stepMs={o.bucketMs} series={toSeries(m)} bars />
      )}
    </Card>
  );
}

export function OverviewPage() {
  const [span, setSpan] = useState<Span>('6');
  const { hours, bucketMinutes, label } = SPANS[span];
  const { data: o, error } = useLoad(
    () => call<Overview>('GET', `/v1/overview${query({ hours, bucketMinutes })}`),
    [span],
  );
  if (error) return <ErrorBox error={error} />;
  if (!o) return <Loading />;
  return (
    <div class="page">
      <div class="title-row">
        <h1>Overview</h1>
        <select value={span} onChange={(e) => setSpan(e.currentTarget.value as Span)} name="span">
          {Object.entries(SPANS).map(([k, v]) => (
            <option key={k} value={k}>
              {v.label}
            </option>
          ))}
        </select>
      </div>
      <div class="stats">
        <Stat label="Flags" value={num(total(o.flags))} sub={label} />
        <Stat
          label="Reviews pending"
          value={num(o.backlog.pending)}
          sub={`${o.backlog.olderThan1h} older than 1 h`}
        />
        <Stat
          label="Oldest pending"
          value={duration(o.backlog.oldestAgeMs)}
          sub={`median ${duration(o.backlog.medianAgeMs)}`}
        />
        <Stat
          label="Revocations in force"
          value={num(o.revocationsActive)}
          sub={`${num(total(o.revocations))} issued in the ${label}`}
        />
      </div>
      <Chart title={`Flags per ${bucketText(bucketMinutes)}, by rule`} m={o.flags} o={o} />
      <div class="two">
        <Chart title={`Revocations per ${bucketText(bucketMinutes)}, by rule`} m={o.revocations} o={o} />
        <Chart title={`Review decisions per ${bucketText(bucketMinutes)}`} m={o.reviews} o={o} />
      </div>
      <div class="two">
        <Card title="Tenants: detector lag and signals">
          {o.tenants.length === 0 ? (
            <Empty>No flags yet.</Empty>
          ) : (
            <table class="grid">
              <thead>
                <tr>
                  <th>tenant</th>
                  <th class="num">flags</th>
                  <th>last flag</th>
                  <th class="num">lag p50</th>
                  <th class="num">lag p95</th>
                  <th>rules firing</th>
                </tr>
              </thead>
              <tbody>
                {o.tenants.map((t) => (
                  <tr key={t.tenant}>
                    <td>{t.tenant}</td>
                    <td class="num">{num(t.flags)}</td>
                    <td class="nowrap">{ago(t.lastFlagMs)}</td>
                    <td class="num">{duration(t.lagP50Ms)}</td>
                    <td class="num">{duration(t.lagP95Ms)}</td>
                    <td>
                      {Object.entries(t.rules).map(([r, n]) => (
                        <span class="tag" key={r}>
                          {r} <b>{n}</b>
                        </span>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <Card title={`Top accounts (${label})`}>
          {o.topAccounts.length === 0 ? (
            <Empty>No flagged accounts.</Empty>
          ) : (
            <table class="grid">
              <thead>
                <tr>
                  <th>account</th>
                  <th>tenant</th>
                  <th class="num">flags</th>
                  <th>rules</th>
                </tr>
              </thead>
              <tbody>
                {o.topAccounts.map((a) => (
                  <tr key={a.accountId}>
                    <td>
                      <AccountLink id={a.accountId} />
                    </td>
                    <td>{a.tenant}</td>
                    <td class="num">{num(a.flags)}</td>
                    <td>{a.rules.join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
      </div>
    </div>
  );
}
