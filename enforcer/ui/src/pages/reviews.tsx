import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { APPROVE_REASONS, REJECT_REASONS, type ReasonCode } from '../../../review/reason-codes.ts';
import { call, query } from '../api.ts';
import { Evidence, Threshold } from '../evidence.tsx';
import { ago, time } from '../format.ts';
import type { ReviewView } from '../types.ts';
import { AccountLink, Card, Empty, ErrorBox, Loading, Pill, Severity, useLoad } from '../ui.tsx';

const SEVERITY_RANK: Record<string, number> = { critical: 4, high: 3, medium: 2, low: 1 };
type Sort = 'oldest' | 'newest' | 'severity';
/** Rows shown at first and added by "show more": a long queue stays quick to scan and render. */
const PAGE = 50;

interface BulkResult {
  results: Array<{
    anomalyId: string;
    ok: boolean;
    code?: string;
    message?: string;
    revocationId?: string | null;
  }>;
}

export function ReviewsPage({ me }: { me: string }) {
  const [status, setStatus] = useState<'pending' | 'approved' | 'rejected'>('pending');
  const [rule, setRule] = useState('');
  const [severity, setSeverity] = useState('');
  const [tenant, setTenant] = useState('');
  const [account, setAccount] = useState('');
  const [sort, setSort] = useState<Sort>('oldest');
  const [shown, setShown] = useState(PAGE);
  const [assigned, setAssigned] = useState<'' | 'mine' | 'unassigned'>('');
  const [open, setOpen] = useState<string | null>(null);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState<ReasonCode>('confirmed-sharing');
  const [comment, setComment] = useState('');
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<string>();
  const {
    data,
    error: loadError,
    reload,
  } = useLoad(
    () =>
      call<{ items: ReviewView[]; total: number; counts: Record<string, number> }>(
        'GET',
        `/v1/reviews${query({ status, limit: 1000 })}`,
      ),
    [status],
  );

  const rules = useMemo(() => [...new Set((data?.items ?? []).map((e) => e.rule))].sort(), [data]);
  const tenants = useMemo(() => [...new Set((data?.items ?? []).map((e) => e.tenant))].sort(), [data]);
  const items = useMemo(() => {
    const list = (data?.items ?? []).filter(
      (e) =>
        (!rule || e.rule === rule) &&
        (!severity || e.severity === severity) &&
        (!tenant || e.tenant === tenant) &&
        (!account || (e.accountId ?? '').includes(account) || e.subjectKey.includes(account)) &&
        (!assigned || (assigned === 'mine' ? e.assignee === me : e.assignee === null)),
    );
    const cmp: Record<Sort, (a: ReviewView, b: ReviewView) => number> = {
      oldest: (a, b) => a.createdAtMs - b.createdAtMs,
      newest: (a, b) => b.createdAtMs - a.createdAtMs,
      severity: (a, b) =>
        (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) || a.createdAtMs - b.createdAtMs,
    };
    return list.sort(cmp[sort]);
  }, [data, rule, severity, tenant, account, sort, assigned, me]);

  const toggle = (id: string) => {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setPicked(next);
  };

  async function decide(ids: string[], decision: 'approved' | 'rejected') {
    setError(undefined);
    setMessage(undefined);
    const code =
      decision === 'approved'
        ? reason in APPROVE_REASONS
          ? reason
          : 'confirmed-sharing'
        : reason in REJECT_REASONS
          ? reason
          : 'insufficient-evidence';
    try {
      const r = await call<BulkResult>('POST', '/v1/reviews/decisions', {
        anomalyIds: ids,
        decision,
        reasonCode: code,
        comment: comment || undefined,
      });
      const failed = r.results.filter((x) => !x.ok);
      const done = r.results.length - failed.length;
      setMessage(
        `${done} ${decision} (${code})${failed.length ? `; ${failed.length} failed: ${failed.map((f) => f.message).join('; ')}` : ''}`,
      );
      setPicked(new Set());
      setComment('');
      reload();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function assign(id: string, who: string | null) {
    try {
      await call('PUT', `/v1/reviews/${encodeURIComponent(id)}/assignee`, { assignee: who });
      reload();
    } catch (e) {
      setError((e as Error).message);
    }
  }

  const visible = items.slice(0, shown);
  const pickedIds = visible.filter((e) => picked.has(e.anomalyId)).map((e) => e.anomalyId);
  return (
    <div class="page">
      <h1>
        Review queue{' '}
        {data && (
          <span class="muted small">
            {data.counts.pending} pending · {data.counts.approved} approved · {data.counts.rejected} rejected
          </span>
        )}
      </h1>
      <div class="filters">
        <label>
          Status
          <select
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value as typeof status)}
            name="status"
          >
            <option value="pending">pending</option>
            <option value="approved">approved</option>
            <option value="rejected">rejected</option>
          </select>
        </label>
        <label>
          Rule
          <select value={rule} onChange={(e) => setRule(e.currentTarget.value)} name="rule">
            <option value="">all</option>
            {rules.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Severity
          <select value={severity} onChange={(e) => setSeverity(e.currentTarget.value)} name="severity">
            <option value="">all</option>
            {['critical', 'high', 'medium', 'low'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Tenant
          <select value={tenant} onChange={(e) => setTenant(e.currentTarget.value)} name="tenant">
            <option value="">all</option>
            {tenants.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Account
          <input
            value={account}
            onInput={(e) => setAccount(e.currentTarget.value)}
            placeholder="account or subject"
            name="account"
          />
        </label>
        <label>
          Assigned
          <select
            value={assigned}
            onChange={(e) => setAssigned(e.currentTarget.value as typeof assigned)}
            name="assigned"
          >
            <option value="">anyone</option>
            <option value="mine">to me</option>
            <option value="unassigned">unassigned</option>
          </select>
        </label>
        <label>
          Sort
          <select value={sort} onChange={(e) => setSort(e.currentTarget.value as Sort)} name="sort">
            <option value="oldest">oldest first</option>
            <option value="newest">newest first</option>
            <option value="severity">severity</option>
          </select>
        </label>
      </div>
      {status === 'pending' && (
        <div class="bulk">
          <span>
            <b>{pickedIds.length}</b> selected
          </span>
          <select
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value as ReasonCode)}
            name="reason"
          >
            <optgroup label="Approve (the flag is right)">
              {Object.entries(APPROVE_REASONS).map(([k, v]) => (
                <option key={k} value={k}>
                  {v}
                </option>
              ))}
            </optgroup>
            <optgroup label="Reject (a false positive)">
              {Object.entries(REJECT_REASONS).map(([k, v]) => (
                <option key={k} value={k}>
                  {v}
                </option>
              ))}
            </optgroup>
          </select>
          <input
            value={comment}
            onInput={(e) => setComment(e.currentTarget.value)}
            placeholder="note (optional)"
            name="comment"
          />
          <button
            type="button"
            class="danger"
            disabled={pickedIds.length === 0}
            onClick={() => decide(pickedIds, 'approved')}
            data-act="bulk-approve"
          >
            Approve selected
          </button>
          <button
            type="button"
            disabled={pickedIds.length === 0}
            onClick={() => decide(pickedIds, 'rejected')}
            data-act="bulk-reject"
          >
            Reject selected
          </button>
        </div>
      )}
      {message && <div class="notice">{message}</div>}
      <ErrorBox error={error ?? loadError} />
      {!data ? (
        <Loading />
      ) : items.length === 0 ? (
        <Empty>No {status} entries match.</Empty>
      ) : (
        <Card title={`${items.length} entries${items.length > shown ? `, the first ${shown} shown` : ''}`}>
          <table class="grid queue">
            <thead>
              <tr>
                {status === 'pending' && (
                  <th>
                    <input
                      type="checkbox"
                      aria-label="select all"
                      checked={pickedIds.length > 0 && pickedIds.length === visible.length}
                      onChange={(e) =>
                        setPicked(
                          e.currentTarget.checked ? new Set(visible.map((i) => i.anomalyId)) : new Set(),
                        )
                      }
                    />
                  </th>
                )}
                <th>age</th>
                <th>rule</th>
                <th>severity</th>
                <th>account</th>
                <th>tenant</th>
                <th>assignee</th>
                <th>what crossed</th>
                <th>{status === 'pending' ? '' : 'decision'}</th>
              </tr>
            </thead>
            <tbody>
              {visible.map((e) => (
                <Fragment key={e.anomalyId}>
                  <tr class={open === e.anomalyId ? 'open' : ''} data-review={e.anomalyId}>
                    {status === 'pending' && (
                      <td>
                        <input
                          type="checkbox"
                          checked={picked.has(e.anomalyId)}
                          onChange={() => toggle(e.anomalyId)}
                          aria-label="select"
                        />
                      </td>
                    )}
                    <td class="nowrap" title={time(e.createdAtMs)}>
                      {ago(e.createdAtMs)}
                    </td>
                    <td>
                      <button
                        type="button"
                        class="link"
                        onClick={() => setOpen(open === e.anomalyId ? null : e.anomalyId)}
                      >
                        {e.rule}
                      </button>
                      {e.anomalyVersion > 1 && <span class="pill warn">escalated ×{e.anomalyVersion}</span>}
                    </td>
                    <td>
                      <Severity s={e.severity} />
                    </td>
                    <td>
                      <AccountLink id={e.accountId} />
                    </td>
                    <td>{e.tenant}</td>
                    <td class="nowrap">
                      {e.assignee ? (
                        <span class="assignee">{e.assignee}</span>
                      ) : e.status === 'pending' ? (
                        <button
                          type="button"
                          class="small"
                          onClick={() => assign(e.anomalyId, me)}
                          data-act="assign-me"
                        >
                          Take
                        </button>
                      ) : (
                        <span class="muted">—</span>
                      )}
                      {e.notes.length > 0 && (
                        <span class="pill">
                          {e.notes.length} note{e.notes.length === 1 ? '' : 's'}
                        </span>
                      )}
                    </td>
                    <td>
                      <Threshold a={e.anomaly} />
                    </td>
                    <td class="nowrap">
                      {e.status === 'pending' ? (
                        <>
                          <button
                            type="button"
                            class="danger small"
                            onClick={() => decide([e.anomalyId], 'approved')}
                            data-act="approve"
                          >
                            Approve
                          </button>
                          <button
                            type="button"
                            class="small"
                            onClick={() => decide([e.anomalyId], 'rejected')}
                            data-act="reject"
                          >
                            Reject
                          </button>
                        </>
                      ) : (
                        <span>
                          <Pill v={e.status} /> {e.decidedBy} <span class="muted">{e.comment}</span>
                        </span>
                      )}
                    </td>
                  </tr>
                  {open === e.anomalyId && (
                    <tr class="detail">
                      <td colSpan={9}>
                        <Evidence a={e.anomaly} />
                        <Notes entry={e} onChange={reload} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
          {items.length > shown && (
            <button type="button" class="more" onClick={() => setShown(shown + PAGE)}>
              Show {Math.min(PAGE, items.length - shown)} more
            </button>
          )}
        </Card>
      )}
    </div>
  );
}

/** An entry's notes, oldest first, and a field to add one. */
function Notes({ entry, onChange }: { entry: ReviewView; onChange: () => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  async function add(e: Event) {
    e.preventDefault();
    try {
      await call('POST', `/v1/reviews/${encodeURIComponent(entry.anomalyId)}/notes`, { text });
      setText('');
      setError(undefined);
      onChange();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <div class="ev-block notes">
      <h4>
        Notes <span class="muted">({entry.notes.length})</span>
        {entry.assignee && <span class="muted"> · assigned to {entry.assignee}</span>}
      </h4>
      {entry.notes.map((n) => (
        <div class="note" key={`${n.atMs}-${n.by}`}>
          <span class="muted small">
            {n.by} · {time(n.atMs)}
          </span>
          <div>{n.text}</div>
        </div>
      ))}
      <form class="inline-form" onSubmit={add}>
        <input
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          placeholder="add a note"
          name="note"
          class="note-input"
        />
        <button type="submit" class="small" disabled={!text.trim()} data-act="add-note">
          Add note
        </button>
      </form>
      {error && <div class="error">{error}</div>}
    </div>
  );
}
