/**
 * Produces admission's start / heartbeat / stop events to player.heartbeats.v1 (source
 * `admission`), so the detector sees every session and heals a breach by evicting the newest.
 *
 * The session answer does not wait for Kafka: Redis holds the admission state; this topic is the
 * detector's copy. Records are batched (one idempotent acks=all send at a time, at most one send
 * per linger unless a full batch waits) from a bounded queue; a failed send is retried with its
 * records kept in order; at the queue limit new records are dropped, counted and logged (never
 * silently). `WorkerHeartbeatSink` (heartbeat-worker.ts) runs this sink off the request thread.
 */

import { deterministicId } from '../../core/ids.ts';
import type { RenewingProducer } from '../../core/kafka.ts';
import { LIMITS } from '../../core/limits.ts';
import type { Logger } from '../../core/log.ts';
import type { HeartbeatEvent, PlayerHeartbeat } from '../../core/schemas/generated.ts';
import type { AvroSerde } from '../../core/serde.ts';
import { TOPICS } from '../../core/topics.ts';

/** What admission knows of one session event; the sink makes the player.heartbeats.v1 record. */
export interface AdmissionEvent {
  event: HeartbeatEvent;
  timestampMs: number;
  tenant: string;
  accountId: string;
  sessionId: string;
  deviceId: string;
  contentId: string;
  tokenHash: string | null;
  tokenKeyId: string | null;
}

export interface HeartbeatSinkLike {
  push(event: AdmissionEvent): void;
}

/** The player.heartbeats.v1 record of an admission event; its id is deterministic (replays dedupe). */
export function admissionRecord(source: string, e: AdmissionEvent): PlayerHeartbeat {
  return {
    id: deterministicId(source, e.sessionId, e.event, e.timestampMs),
    source,
    tenant: e.tenant,
    event: e.event,
    timestampMs: e.timestampMs,
    receivedAtMs: e.timestampMs,
    accountId: e.accountId,
    sessionId: e.sessionId,
    deviceId: e.deviceId,
    contentId: e.contentId,
    tokenHash: e.tokenHash,
    tokenKeyId: e.tokenKeyId,
    tokenExpiresAtMs: null,
    clientIp: null,
    networkPrefix: null,
    country: null,
    latitude: null,
    longitude: null,
    asn: null,
    datacenter: false,
    geoAccuracyKm: null,
    playheadMs: null,
    bitrateKbps: null,
    cmcd: null,
  };
}

/** A sink the server owns: counts, and a bounded flush at shutdown. */
export interface HeartbeatOutlet extends HeartbeatSinkLike {
  /** Records Kafka acknowledged. */
  readonly sent: number;
  /** Records dropped at the queue limit (or unencodable), each counted and logged. */
  readonly dropped: number;
  /** Sends what is queued (bounded by timeoutMs), then stops. */
  flush(timeoutMs?: number): Promise<void>;
}

export interface HeartbeatSinkOptions {
  /** `source` of the records (sessions.heartbeatSource). */
  source?: string;
  /** Wait before a send that is not a full batch, ms: fewer, larger acks=all requests. */
  lingerMs?: number;
  /** Called after each acknowledged send with its record count. */
  onSent?: (records: number) => void;
}

export class HeartbeatSink implements HeartbeatOutlet {
  private queue: Array<{ key: string; value: Buffer }> = [];
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set by flush: send back to back, no linger. */
  private draining = false;
  dropped = 0;
  sent = 0;
  private readonly producer: RenewingProducer;
  private readonly serde: AvroSerde;
  private readonly logger: Logger;
  private readonly lingerMs: number;
  private readonly onSent: ((records: number) => void) | undefined;
  private readonly source: string;

  /** `producer` is the sink's own, made anew after a failed send (see RenewingProducer). */
  constructor(
    producer: RenewingProducer,
    serde: AvroSerde,
    logger: Logger,
    options: HeartbeatSinkOptions = {},
  ) {
    this.producer = producer;
    this.serde = serde;
    this.logger = logger;
    this.lingerMs = options.lingerMs ?? LIMITS.admissionHeartbeatLingerMs;
    this.onSent = options.onSent;
    this.source = options.source ?? 'admission';
  }

  /** Records waiting for Kafka. */
  get queued(): number {
    return this.queue.length;
  }

  push(event: AdmissionEvent): void {
    if (this.queue.length >= LIMITS.admissionHeartbeatQueueMax) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0) {
        this.logger.warn({ dropped: this.dropped }, 'heartbeat queue full; admission event dropped');
      }
      return;
    }
    const record = admissionRecord(this.source, event);
    this.queue.push({ key: record.accountId, value: this.serde.encode(TOPICS.heartbeats.name, record) });
    this.schedule();
  }

  private schedule(): void {
    if (!this.timer && !this.sending && !this.closed) {
      this.timer = setTimeout(() => this.flushLoop(), this.draining ? 0 : this.lingerMs);
    }
  }

  private async flushLoop(): Promise<void> {
    this.timer = undefined;
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, LIMITS.admissionHeartbeatBatchMax);
        try {
          await this.producer.run((p) =>
            p.send({ topic: TOPICS.heartbeats.name, acks: -1, messages: batch }),
          );
          this.queue.splice(0, batch.length);
          this.sent += batch.length;
          this.onSent?.(batch.length);
          // A partial batch waits for the next linger: one request per linger, not per record.
          if (!this.draining && this.queue.length < LIMITS.admissionHeartbeatBatchMax) break;
        } catch (err) {
          this.logger.warn(
            { err: (err as Error).message, queued: this.queue.length },
            'heartbeat send failed; retrying',
          );
          if (this.closed) return;
          await new Promise((r) => setTimeout(r, LIMITS.kafkaRetryBackoffMsMax));
        }
      }
    } finally {
      this.sending = false;
      if (this.queue.length > 0) this.schedule();
    }
  }

  /** Sends what is queued (bounded by timeoutMs), then stops accepting retries. */
  async flush(timeoutMs = 5_000): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.draining = true;
    const deadline = Date.now() + timeoutMs;
    const loop = this.flushLoop();
    while ((this.queue.length > 0 || this.sending) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    this.closed = true;
    await Promise.race([loop, new Promise((r) => setTimeout(r, 0))]);
  }
}
