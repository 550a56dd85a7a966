/**
 * The detector's Prometheus metrics: events and flags (by rule) as counters read from the
 * topology's plain counters at scrape time, lag per partition, state size, overflow (counted,
 * never a crash), and the delay from an event's append to its flag's append.
 */
import { Counter, Gauge, Histogram, type Registry } from '../core/metrics.ts';
import type { RocksStore } from './engine/rocks-store.ts';
import type { DetectorRunner } from './runner.ts';

/** A counter whose value is read from a plain number at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  let last = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > last) this.inc(now - last);
      last = now;
    },
  });
}

export interface DetectorMetrics {
  flagDelay: Histogram;
}

export function registerDetectorMetrics(
  registry: Registry,
  runner: DetectorRunner,
  store: RocksStore,
): DetectorMetrics {
  const stats = runner.topology.stats;
  mirroredCounter(
    registry,
    'leechguard_detector_events_total',
    'Events processed by the rules',
    () => stats.events,
  );
  mirroredCounter(
    registry,
    'leechguard_detector_late_events_total',
    'Events older than watermark minus allowed lateness: counted and dropped',
    () => stats.lateEvents,
  );
  mirroredCounter(
    registry,
    'leechguard_detector_future_events_total',
    'Events stamped more than detector.maxFutureSkewMs ahead of the clock: counted and dropped',
    () => stats.futureEvents,
  );
  mirroredCounter(
    registry,
    'leechguard_detector_registry_waits_total',
    'Times an input batch was held because the schema registry did not answer (nothing skipped)',
    () => runner.registryWaits,
  );
  mirroredCounter(
    registry,
    'leechguard_detector_flags_suppressed_total',
    'Replayed flags dropped because the same id and version was already published',
    () => runner.suppressedFlags,
  );
  mirroredCounter(
    registry,
    'leechguard_detector_state_overflow_entries_total',
    'State entries refused at the entries-per-key bound',
    () => stats.overflowEntries,
  );
  mirroredCounter(
    registry,
    'leechguard_detector_state_overflow_keys_total',
    'State keys shed (the coldest, to admit new ones) at the keys-per-partition bound',
    () => runner.stateOverflowKeys(),
  );
  mirroredCounter(
    registry,
    'leechguard_detector_flag_versions_capped_total',
    'Escalations past the version bound, not published',
    () => stats.flagVersionsCapped,
  );
  const lastFlags = new Map<string, number>();
  new Counter({
    name: 'leechguard_detector_flags_total',
    help: 'Flags raised (new ids and escalations), by rule',
    labelNames: ['rule'],
    registers: [registry],
    collect() {
      for (const [rule, n] of Object.entries(stats.flags)) {
        const before = lastFlags.get(rule) ?? 0;
        if (n > before) this.inc({ rule }, n - before);
        else this.inc({ rule }, 0);
        lastFlags.set(rule, n);
      }
    },
  });
  const lastSilenced = new Map<string, number>();
  new Counter({
    name: 'leechguard_detector_rule_silenced_events_total',
    help: 'Events a rule did not judge for want of a signal (a tenant without heartbeats, heartbeats behind), by rule',
    labelNames: ['rule'],
    registers: [registry],
    collect() {
      for (const [rule, n] of Object.entries(stats.silenced)) {
        const before = lastSilenced.get(rule) ?? 0;
        this.inc({ rule }, Math.max(0, n - before));
        lastSilenced.set(rule, n);
      }
    },
  });
  new Gauge({
    name: 'leechguard_detector_tenant_signal_present',
    help: 'Whether an input (cdn-logs, heartbeats) is seen for the tenant: 1 yes, 0 no (its rules are then silent)',
    labelNames: ['tenant', 'signal'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [tenant, r] of Object.entries(runner.topology.signalsReport())) {
        this.set({ tenant, signal: 'cdn-logs' }, r.cdnLogs ? 1 : 0);
        this.set({ tenant, signal: 'heartbeats' }, r.heartbeats ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'leechguard_detector_lag_records',
    help: 'Input records behind the log end, per partition',
    labelNames: ['partition'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [p, lag] of runner.lag()) this.set({ partition: String(p) }, lag);
    },
  });
  new Gauge({
    name: 'leechguard_detector_state_keys',
    help: 'State keys held in memory over the assigned partitions',
    registers: [registry],
    collect() {
      this.set(runner.stateKeys());
    },
  });
  new Gauge({
    name: 'leechguard_detector_state_bytes',
    help: "RocksDB's estimate of the live state data, bytes",
    registers: [registry],
    collect() {
      this.set(store.liveDataBytes());
    },
  });
  const flagDelay = new Histogram({
    name: 'leechguard_detector_flag_delay_seconds',
    help: "Delay from the triggering event's append to its flag's append",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return { flagDelay };
}
