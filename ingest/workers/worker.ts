/**
 * A batch worker thread: builds its pipeline context once from the main thread's settings (schema
 * ids, partition counts, shared geo tables, hashing keys) and runs batch jobs as they come, one at
 * a time. Replies carry the packed records (moved, not copied) or the error that refused the batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isLeechguardError } from '../../core/errors.ts';
import { AvroSerde } from '../../core/serde.ts';
import { TokenHasher } from '../../core/token-hash.ts';
import { createPipelineContext } from '../pipeline.ts';
import { geoResolverFrom } from '../transforms/enrich/geo.ts';
import { type BatchEnv, packResult, runBatchJob, transferablesOf } from './job.ts';
import type { JobReply, JobRequest, WorkerInit } from './pool.ts';

const init = workerData as WorkerInit;
const serde = new AvroSerde({ url: 'http://registry.unused.invalid' });
serde.adoptIds(new Map(init.schemaIds));
const env: BatchEnv = {
  ctx: createPipelineContext(
    init.enrich,
    new TokenHasher(init.tokenHashing),
    geoResolverFrom(init.geoTables),
    init.limits.lineBytesMax,
  ),
  serde,
  limits: init.limits,
  partitions: new Map(init.partitions),
};
const port = parentPort!;

port.on('message', (req: JobRequest) => {
  let reply: JobReply;
  try {
    const result = packResult(runBatchJob(req.job, env));
    // This thread's CPU since it started (message decoding and GC included), for the pool's total.
    const cpu = process.threadCpuUsage();
    reply = { id: req.id, result, cpuUs: cpu.user + cpu.system };
    port.postMessage(reply, transferablesOf(result));
    return;
  } catch (err) {
    reply = isLeechguardError(err)
      ? { id: req.id, error: err.toJSON() }
      : { id: req.id, internal: (err as Error).stack ?? String(err) };
  }
  port.postMessage(reply);
});
const started = process.threadCpuUsage();
port.postMessage({ ready: true, cpuUs: started.user + started.system });
