/**
 * A broker-free test driver (Kafka Streams' TopologyTestDriver, for leechguard): records are
 * pushed through the whole topology synchronously, partition by partition, and the flags come
 * back at once. Offsets are assigned per partition and role as Kafka would.
 */
import type { Clock } from '../../core/clock.ts';
import type { AccountPlan, Anomaly, CdnRequest, PlayerHeartbeat } from '../../core/schemas/generated.ts';
import { detectorConfig } from '../config.ts';
import type { InputRole, PartitionState } from '../engine/partition-state.ts';
import { type InputRecord, Topology } from '../engine/topology.ts';

export interface PipeOptions {
  partition?: number;
}

export class TopologyTestDriver {
  readonly topology: Topology;
  /** Every flag raised, in order. */
  readonly flags: Anomaly[] = [];
  private readonly nextOffset = new Map<string, number>();

  /**
   * `config`: a partial detector config (rules, tenants, defaultPlan, detector), defaults filled in.
   * `wallClock`: the live runner's clock (future-stamped events are then dropped); none: backtest.
   */
  constructor(config: unknown = {}, wallClock?: Clock) {
    this.topology = new Topology(detectorConfig(config), undefined, wallClock);
  }

  private offset(partition: number, role: InputRole): number {
    const key = `${partition}/${role}`;
    const o = this.nextOffset.get(key) ?? 0;
    this.nextOffset.set(key, o + 1);
    return o;
  }

  private push(partition: number, record: InputRecord): Anomaly[] {
    const flags = this.topology.process(partition, record);
    this.flags.push(...flags);
    return flags;
  }

  pipeRequest(value: CdnRequest, options: PipeOptions = {}): Anomaly[] {
    const p = options.partition ?? 0;
    return this.push(p, { role: 'requests', offset: this.offset(p, 'requests'), value });
  }

  pipeHeartbeat(value: PlayerHeartbeat, options: PipeOptions = {}): Anomaly[] {
    const p = options.partition ?? 0;
    return this.push(p, { role: 'heartbeats', offset: this.offset(p, 'heartbeats'), value });
  }

  pipePlan(value: AccountPlan, options: PipeOptions = {}): void {
    const p = options.partition ?? 0;
    this.push(p, { role: 'accounts', offset: this.offset(p, 'accounts'), key: value.accountId, value });
  }

  pipePlanTombstone(accountId: string, options: PipeOptions = {}): void {
    const p = options.partition ?? 0;
    this.push(p, { role: 'accounts', offset: this.offset(p, 'accounts'), key: accountId, value: null });
  }

  /** Flags of one rule, in order. */
  flagsOf(rule: string): Anomaly[] {
    return this.flags.filter((f) => f.rule === rule);
  }

  /** The partition's state (watermark, offsets, keys). */
  state(partition = 0): PartitionState {
    return this.topology.partition(partition);
  }
}
