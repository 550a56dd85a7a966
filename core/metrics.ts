/**
 * Prometheus metrics. One registry per service; names follow `leechguard_<service>_<name>_<unit>`
 * with `_total` on counters. A dropped event is always counted; a retried one never is.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'leechguard_' });
  return registry;
}

/**
 * A value computed at most once per `intervalMs` of the clock, for gauges whose exact value costs
 * a scan: a scrape (or a flood of them) then costs one scan per interval, not one each.
 */
export function recomputedEvery<T>(intervalMs: number, nowMs: () => number, compute: () => T): () => T {
  let value: T | undefined;
  let atMs = Number.NEGATIVE_INFINITY;
  return () => {
    const now = nowMs();
    if (value === undefined || now - atMs >= intervalMs) {
      value = compute();
      atMs = now;
    }
    return value;
  };
}
