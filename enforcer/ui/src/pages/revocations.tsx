import { useState } from 'preact/hooks';
import { call } from '../api.ts';
import { shortTime, time } from '../format.ts';
import type { RevocationView } from '../types.ts';
import { AccountLink, Pill } from '../ui.tsx';

/** Revocations with a lift (reason required) for the active ones. */
export function RevocationsTable({ items, onChange }: { items: RevocationView[]; onChange: () => void }) {
  const [lifting, setLifting] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();
  async function lift(id: string) {
    try {
      await call('POST', `/v1/revocations/${encodeURIComponent(id)}/lift`, { reason });
      setLifting(null);
      setReason('');
      setError(undefined);
      onChange();
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <>
      {error && <div class="error">{error}</div>}
      <table class="grid">
        <thead>
          <tr>
            <th>issued (UTC)</th>
            <th>action</th>
            <th>subject</th>
            <th>account</th>
            <th>why</th>
            <th>by</th>
            <th>until (UTC)</th>
            <th>status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((r) => (
            <tr key={r.id} data-revocation={r.id}>
              <td class="nowrap" title={time(r.issuedAtMs)}>
                {shortTime(r.issuedAtMs)}
              </td>
              <td>{r.action}</td>
              <td class="mono" title={r.subjectKey}>
                {r.subjectKind}:{r.subjectKey.length > 14 ? `${r.subjectKey.slice(0, 14)}…` : r.subjectKey}
              </td>
              <td>
                <AccountLink id={r.accountId} />
              </td>
              <td class="why">
                {r.reason}
                {r.liftReason && (
                  <div class="muted">
                    lifted by {r.liftedBy}: {r.liftReason}
                  </div>
                )}
              </td>
              <td>{r.issuedBy}</td>
              <td class="nowrap" title={time(r.expiresAtMs)}>
                {shortTime(r.expiresAtMs)}
              </td>
              <td>
                <Pill v={r.status} />
              </td>
              <td class="nowrap">
                {r.status === 'active' &&
                  (lifting === r.id ? (
                    <span class="inline-form">
                      <input
                        value={reason}
                        onInput={(e) => setReason(e.currentTarget.value)}
                        placeholder="why lift"
                        name="lift-reason"
                      />
                      <button
                        type="button"
                        class="small"
                        disabled={!reason.trim()}
                        onClick={() => lift(r.id)}
                        data-act="confirm-lift"
                      >
                        Lift
                      </button>
                    </span>
                  ) : (
                    <button type="button" class="small" onClick={() => setLifting(r.id)} data-act="lift">
                      Lift…
                    </button>
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Revoke a token, session or account by hand, with a reason and an expiry. */
export function ManualRevoke({
  accountId,
  tenant,
  onDone,
}: {
  accountId?: string;
  tenant?: string;
  onDone: () => void;
}) {
  const [kind, setKind] = useState<'account' | 'token' | 'session'>('account');
  const [key, setKey] = useState(accountId ?? '');
  const [reason, setReason] = useState('');
  const [hours, setHours] = useState('24');
  const [error, setError] = useState<string>();
  async function submit(e: Event) {
    e.preventDefault();
    try {
      await call('POST', '/v1/revocations', {
        subjectKind: kind,
        subjectKey: key,
        accountId: accountId ?? (kind === 'account' ? key : undefined),
        tenant,
        reason,
        durationMs: Math.round(Number(hours) * 3_600_000),
      });
      setReason('');
      setError(undefined);
      onDone();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <form class="manual" onSubmit={submit}>
      <select
        value={kind}
        onChange={(e) => setKind(e.currentTarget.value as typeof kind)}
        name="subject-kind"
      >
        <option value="account">account</option>
        <option value="token">token (hash)</option>
        <option value="session">session</option>
      </select>
      <input
        value={key}
        onInput={(e) => setKey(e.currentTarget.value)}
        placeholder="subject key"
        name="subject-key"
        required
      />
      <input
        value={reason}
        onInput={(e) => setReason(e.currentTarget.value)}
        placeholder="reason (recorded)"
        name="revoke-reason"
        required
      />
      <select value={hours} onChange={(e) => setHours(e.currentTarget.value)} name="hours">
        <option value="1">1 hour</option>
        <option value="24">24 hours</option>
        <option value="168">7 days</option>
        <option value="720">30 days</option>
      </select>
      <button type="submit" class="danger" data-act="manual-revoke">
        Revoke
      </button>
      {error && <span class="error inline">{error}</span>}
    </form>
  );
}
