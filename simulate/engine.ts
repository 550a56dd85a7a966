/**
 * Plays a population out in time order: account plans first, then every actor's requests and
 * heartbeats merged by a binary heap on (time, actor index). Only the actors' small states are
 * held; events are produced one at a time, so any span streams in constant memory per actor.
 */
import { type SimulationConfig, type SimulationOptions, simulationConfig } from './config.ts';
import type { SimEvent, Truth } from './model.ts';
import { Player, type PlayerSpec } from './player.ts';
import { buildPopulation, type Population } from './population.ts';

/** A built simulation: its truth and a replayable, time-ordered event stream. */
export interface Simulation {
  config: Readonly<SimulationConfig>;
  truth: Truth;
  population: Population;
  /** Events in time order (ties by actor). Each call replays from the start. */
  events(): Generator<SimEvent>;
}

class PlayerHeap {
  private readonly items: Player[] = [];

  push(p: Player, index: number): void {
    p.heapOrder = index;
    this.items.push(p);
    this.up(this.items.length - 1);
  }

  get size(): number {
    return this.items.length;
  }

  peek(): Player | undefined {
    return this.items[0];
  }

  /** Restores order after the top's nextMs grew; removes it when it is done. */
  updateTop(): void {
    const top = this.items[0] as Player;
    if (top.nextMs === Number.POSITIVE_INFINITY) {
      const last = this.items.pop() as Player;
      if (this.items.length > 0 && last !== top) {
        this.items[0] = last;
        this.down(0);
      }
    } else this.down(0);
  }

  private less(a: Player, b: Player): boolean {
    return a.nextMs < b.nextMs || (a.nextMs === b.nextMs && a.heapOrder < b.heapOrder);
  }

  private up(i: number): void {
    const items = this.items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i] as Player, items[parent] as Player)) break;
      [items[i], items[parent]] = [items[parent] as Player, items[i] as Player];
      i = parent;
    }
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(items[l] as Player, items[m] as Player)) m = l;
      if (r < n && this.less(items[r] as Player, items[m] as Player)) m = r;
      if (m === i) return;
      [items[i], items[m]] = [items[m] as Player, items[i] as Player];
      i = m;
    }
  }
}

function* play(config: SimulationConfig, population: Population): Generator<SimEvent> {
  for (const a of population.accounts) yield { type: 'account', timestampMs: config.startMs, plan: a.plan };
  // Actors join the heap when their start comes (a Player's first event is never before its start).
  const pending: Array<{ spec: PlayerSpec; order: number }> = [];
  for (const a of population.accounts)
    for (const spec of a.players) pending.push({ spec, order: pending.length });
  pending.sort((x, y) => x.spec.startMs - y.spec.startMs || x.order - y.order);
  let next = 0;
  const heap = new PlayerHeap();
  const endMs = config.startMs + config.durationMs;
  const delayMs = config.heartbeatDelayMs;
  // Heartbeats waiting to arrive, in arrival order (a constant delay keeps the players' order).
  const late: SimEvent[] = [];
  let lateHead = 0;
  for (;;) {
    let top = heap.peek();
    while (
      next < pending.length &&
      (top === undefined || (pending[next] as { spec: PlayerSpec }).spec.startMs <= top.nextMs)
    ) {
      const { spec, order } = pending[next++] as { spec: PlayerSpec; order: number };
      const p = new Player(spec);
      if (p.nextMs !== Number.POSITIVE_INFINITY) heap.push(p, order);
      top = heap.peek();
    }
    if (!top) break;
    const event = top.next();
    heap.updateTop();
    if (event.timestampMs > endMs) continue;
    // Late heartbeats come out when they arrive; their own timestamps stay as the player sent them.
    while (late.length > lateHead && (late[lateHead] as SimEvent).timestampMs <= event.timestampMs)
      yield late[lateHead++] as SimEvent;
    if (event.type === 'heartbeat' && delayMs > 0)
      late.push({ ...event, timestampMs: event.timestampMs + delayMs });
    else yield event;
    if (lateHead > 4096) {
      late.splice(0, lateHead);
      lateHead = 0;
    }
  }
  while (late.length > lateHead) yield late[lateHead++] as SimEvent;
}

/** Builds the population and truth for the options (validated), ready to play. */
export async function createSimulation(options: SimulationOptions = {}): Promise<Simulation> {
  const config = simulationConfig(options);
  const population = await buildPopulation(config);
  const classCounts: Record<string, number> = {};
  const tenants: NonNullable<Truth['deployment']>['tenants'] = {};
  for (const a of population.accounts) {
    classCounts[a.truth.class] = (classCounts[a.truth.class] ?? 0) + 1;
    const t = tenants[a.truth.tenant] ?? {
      heartbeats:
        config.heartbeats === 'all' ||
        (config.heartbeats === 'some' && a.truth.tenant !== config.cdnOnlyTenant),
      accounts: 0,
    };
    t.accounts++;
    tenants[a.truth.tenant] = t;
  }
  const truth: Truth = {
    version: 1,
    seed: config.seed,
    startMs: config.startMs,
    endMs: config.startMs + config.durationMs,
    viewers: config.viewers,
    abusers: population.accounts.filter((a) => a.truth.label === 'abuser').length,
    tokenKeyId: config.tokenHashing.currentKeyId,
    classCounts,
    deployment: {
      heartbeats: config.heartbeats,
      heartbeatDelayMs: config.heartbeatDelayMs,
      tenants,
    },
    accounts: population.accounts.map((a) => a.truth),
  };
  return { config, truth, population, events: () => play(config, population) };
}

/**
 * The programmatic API: yields every event of a seeded simulation in time order (account plans,
 * then CDN requests and player heartbeats). Same options, same events.
 */
export async function* generateSimulation(options: SimulationOptions = {}): AsyncGenerator<SimEvent> {
  const sim = await createSimulation(options);
  yield* sim.events();
}
