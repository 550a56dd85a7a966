import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { call, query } from '../api.ts';
import { Evidence, Threshold } from '../evidence.tsx';
import { ago, num, time } from '../format.ts';
import type { Flag } from '../types.ts';
import { AccountLink, Card, Empty, ErrorBox, Pill, Severity } from '../ui.tsx';

interface Page {
  items: Flag[];
  nextCursor: string | null;
  held: number;
}

const HOURS = { '1': 1, '24': 24, '168': 168, '840': 840 } as const;

export function FlagsTable({ flags, showAccount = true }: { flags: Flag[]; showAccount?: boolean }) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <table class="grid">
      <thead>
        <tr>
          <th>detected</th>
          <th>rule</th>
          <th>severity</th>
          <th>outcome</th>
          {showAccount && <th>account</th>}
          <th>tenant</th>
          <th>what crossed</th>
        </tr>
      </thead>
      <tbody>
        {flags.map((f) => (
          <Fragment key={f.id}>
            <tr class={open === f.id ? 'open' : ''} data-flag={f.id}>
              <td class="nowrap" title={time(f.detectedAtMs)}>
                {ago(f.detectedAtMs)}
              </td>
              <td>
                <button type="button" class="link" onClick={() => setOpen(open === f.id ? null : f.id)}>
                  {f.rule}
                </button>
              </td>
              <td>
                <Severity s={f.severity} />
              </td>
              <td>
                <Pill v={f.outcome} /> <span class="muted small">{f.mode}</span>
              </td>
              {showAccount && (
                <td>
                  <AccountLink id={f.accountId} />
                </td>
              )}
              <td>{f.tenant}</td>
              <td>
                <Threshold a={f} />
              </td>
            </tr>
            {open === f.id && (
              <tr class="detail">
                <td colSpan={7}>
                  <Evidence a={f} />
                </td>
              </tr>
            )}
          </Fragment>
        ))}
      </tbody>
    </table>
  );
}

export function FlagsPage() {
  const [rule, setRule] = useState('');
  const [outcome, setOutcome] = useState('');
  const [severity, setSeverity] = useState('');
  const [tenant, setTenant] = useState('');
  const [account, setAccount] = useState('');
  const [hours, setHours] = useState<keyof typeof HOURS>('168');
  const [flags, setFlags] = useState<Flag[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [held, setHeld] = useState(0);
  const [error, setError] = useState<string>();
  const [fromMs] = useState(() => Date.now());

  const filters = {
    rule,
    outcome,
    severity,
    tenant,
    accountId: account,
    fromMs: Math.floor(fromMs - HOURS[hours] * 3_600_000),
  };
  const load = async (after: string | null) => {
    try {
      const page = await call<Page>('GET', `/v1/flags${query({ ...filters, limit: 50, cursor: after })}`);
      setFlags((prev) => (after ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor);
      setHeld(page.held);
      setError(undefined);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  // Reloads from the first page when a filter changes.
  useEffect(() => {
    load(null);
  }, [rule, outcome, severity, tenant, account, hours]);

  const exportHref = (format: string) => `/v1/flags${query({ ...filters, format })}`;
  return (
    <div class="page">
      <h1>
        Flags <span class="muted small">every mode · {num(held)} held in the index</span>
      </h1>
      <div class="filters">
        <label>
          Rule
          <input
            value={rule}
            onChange={(e) => setRule(e.currentTarget.value)}
            placeholder="any"
            name="rule"
          />
        </label>
        <label>
          Outcome
          <select value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)} name="outcome">
            <option value="">any</option>
            {['revoke', 'review', 'would-have', 'allow-listed'].map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </label>
        <label>
          Severity
          <select value={severity} onChange={(e) => setSeverity(e.currentTarget.value)} name="severity">
            <option value="">any</option>
            {['critical', 'high', 'medium', 'low'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Tenant
          <input
            value={tenant}
            onChange={(e) => setTenant(e.currentTarget.value)}
            placeholder="any"
            name="tenant"
          />
        </label>
        <label>
          Account
          <input
            value={account}
            onChange={(e) => setAccount(e.currentTarget.value)}
            placeholder="exact id"
            name="account"
          />
        </label>
        <label>
          Since
          <select
            value={hours}
            onChange={(e) => setHours(e.currentTarget.value as keyof typeof HOURS)}
            name="since"
          >
            <option value="1">1 hour</option>
            <option value="24">24 hours</option>
            <option value="168">7 days</option>
            <option value="840">35 days</option>
          </select>
        </label>
        <span class="spacer" />
        <a class="button" href={exportHref('csv')} download data-act="export-csv">
          Export CSV
        </a>
        <a class="button" href={exportHref('ndjson')} download data-act="export-ndjson">
          Export NDJSON
        </a>
      </div>
      <ErrorBox error={error} />
      {flags.length === 0 ? (
        <Empty>No flags match.</Empty>
      ) : (
        <Card title={`${flags.length}${cursor ? '+' : ''} flags`}>
          <FlagsTable flags={flags} />
          {cursor && (
            <button type="button" class="more" onClick={() => load(cursor)}>
              Load more
            </button>
          )}
        </Card>
      )}
    </div>
  );
}
