/**
 * The simulator's programmatic API, for `leechguard demo` and the end-to-end tests:
 * - generateSimulation(options): every event (account plans, CDN requests, heartbeats) in time order;
 * - createSimulation(options): the same plus the truth, replayable (sim.events());
 * - writeSimulationFiles / playLive: the two sinks the CLI uses;
 * - buildReport(truth, flags, revocations) and writeReport: detection quality against the truth;
 * - the per-format line formatters, to post or parse the same lines elsewhere;
 * - FROZEN_SEED / FROZEN_SEEDS: the held-out seeds quality is reported on (never tuned on).
 */
export { type SimulationConfig, type SimulationOptions, simulationConfig } from './config.ts';
export { createSimulation, generateSimulation, type Simulation } from './engine.ts';
export * from './formats/index.ts';
export { FROZEN_SEED, FROZEN_SEEDS } from './frozen.ts';
export * from './model.ts';
export { buildReport, type QualityReport, TARGETS } from './report/compute.ts';
export { readNdjson, writeReport } from './report/main.ts';
export { renderMarkdown } from './report/render.ts';
export { type AccountSignals, measureSignals, signalTable } from './signals.ts';
export { type FileSummary, writeSimulationFiles } from './sinks/files.ts';
export { type LiveOptions, type LiveStats, playLive } from './sinks/http.ts';
