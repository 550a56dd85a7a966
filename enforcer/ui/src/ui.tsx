/** Small shared pieces of the console: loading state, errors, pills, links, stat cards. */

import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

/** Loads `fn` when `deps` change; `reload` loads again. */
export function useLoad<T>(
  fn: () => Promise<T>,
  deps: unknown[],
): {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
} {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  // The caller names what the load depends on (`deps`); `tick` is a reload.
  useEffect(() => {
    let live = true;
    fn().then(
      (d) => {
        if (live) {
          setData(d);
          setError(undefined);
        }
      },
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

export function ErrorBox({ error }: { error: string | undefined }) {
  return error ? (
    <div class="error" role="alert">
      {error}
    </div>
  ) : null;
}

export function Loading() {
  return <div class="muted loading">Loading…</div>;
}

const SEVERITY_CLASS: Record<string, string> = {
  low: 'sev-low',
  medium: 'sev-medium',
  high: 'sev-high',
  critical: 'sev-critical',
};

export function Severity({ s }: { s: string }) {
  return <span class={`pill ${SEVERITY_CLASS[s] ?? ''}`}>{s}</span>;
}

const OUTCOME_CLASS: Record<string, string> = {
  revoke: 'bad',
  review: 'warn',
  'would-have': 'info',
  'allow-listed': 'ok',
  active: 'bad',
  lifted: 'ok',
  expired: '',
  pending: 'warn',
  approved: 'bad',
  rejected: 'ok',
  monitor: 'info',
  moderate: 'warn',
  automate: 'bad',
};

export function Pill({ v }: { v: string }) {
  return <span class={`pill ${OUTCOME_CLASS[v] ?? ''}`}>{v}</span>;
}

export function AccountLink({ id }: { id: string | null }) {
  if (!id) return <span class="muted">—</span>;
  return (
    <a class="mono" href={`#/account/${encodeURIComponent(id)}`}>
      {id}
    </a>
  );
}

export function Stat({
  label,
  value,
  sub,
}: {
  label: string;
  value: ComponentChildren;
  sub?: ComponentChildren;
}) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {sub !== undefined && <div class="stat-sub">{sub}</div>}
    </div>
  );
}

export function Card({
  title,
  children,
  actions,
}: {
  title: ComponentChildren;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  return (
    <section class="card">
      <header class="card-head">
        <h2>{title}</h2>
        {actions && <div class="card-actions">{actions}</div>}
      </header>
      <div class="card-body">{children}</div>
    </section>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}
