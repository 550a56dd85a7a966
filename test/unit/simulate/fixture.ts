/** A small simulation shared by the simulate unit tests (built once per test file). */
import { createSimulation, type Simulation } from '../../../simulate/engine.ts';
import { LEGIT_CLASSES, MATERIAL_LEGIT_CLASSES, type SimEvent } from '../../../simulate/model.ts';

/** Small but complete: every class present, a 20-minute span (the traveller needs it). */
export const SMALL = {
  seed: 'unit-test',
  viewers: 600,
  abuserFraction: 0.05,
  sessionMinutes: [1, 2] as [number, number],
  resaleClients: [12, 20] as [number, number],
};

/**
 * The legitimate classes written beside the detector's rules. They keep the margins the signal and
 * truth tests pin; the classes built from published material do not have to: crossing those
 * margins is what they are for.
 */
export const FIRST_LEGIT_CLASSES: ReadonlySet<string> = new Set(
  LEGIT_CLASSES.filter((c) => !MATERIAL_LEGIT_CLASSES.has(c)),
);

export interface Collected {
  sim: Simulation;
  events: SimEvent[];
  byAccount: Map<string, SimEvent[]>;
}

let cached: Promise<Collected> | undefined;

export function smallSimulation(): Promise<Collected> {
  cached ??= (async () => {
    const sim = await createSimulation(SMALL);
    const events = [...sim.events()];
    const byAccount = new Map<string, SimEvent[]>();
    for (const e of events) {
      const id =
        e.type === 'account'
          ? e.plan.accountId
          : e.type === 'request'
            ? e.request.accountId
            : e.heartbeat.accountId;
      let list = byAccount.get(id);
      if (!list) {
        list = [];
        byAccount.set(id, list);
      }
      list.push(e);
    }
    return { sim, events, byAccount };
  })();
  return cached;
}
