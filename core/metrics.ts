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
