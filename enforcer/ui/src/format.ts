/** Formatting for people: UTC times, ages, durations, numbers. */
export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Month-day hour:minute, UTC: for dense tables (the full time is in the cell's title). */
export function shortTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(5, 16).replace('T', ' ')}`;
}

export function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function ago(ms: number, nowMs = Date.now()): string {
  return `${duration(Math.max(0, nowMs - ms))} ago`;
}

export function num(n: number): string {
  return n.toLocaleString('en-US');
}

export function pct(x: number | null): string {
  return x === null ? '—' : `${(x * 100).toFixed(1)} %`;
}

export function short(id: string, n = 10): string {
  return id.length > n ? `${id.slice(0, n)}…` : id;
}
