/**
 * The one table of leechguard's error codes: `<AREA>_ERR_<CONDITION>`, with the HTTP status an
 * API answers and whether retrying the same call can succeed. test/unit/core/errors.test.ts pins it.
 * Dead-letter records and 4xx bodies carry these codes.
 */

export interface ErrorSpec {
  readonly message: string;
  readonly httpStatus: number;
  readonly retriable: boolean;
}

export const ERRORS = {
  // ── core / shared ────────────────────────────────────────────────────────────────────────────
  LG_ERR_CONFIG_INVALID: { message: 'configuration is invalid', httpStatus: 500, retriable: false },
  LG_ERR_CONFIG_FILE_UNREADABLE: {
    message: 'configuration file cannot be read',
    httpStatus: 500,
    retriable: false,
  },
  LG_ERR_CONFIG_WEAK_SECRET: {
    message: 'a secret in the configuration is a default, an example or too short',
    httpStatus: 500,
    retriable: false,
  },
  LG_ERR_AUTH_MISSING: { message: 'missing bearer key', httpStatus: 401, retriable: false },
  LG_ERR_AUTH_INVALID: { message: 'unknown bearer key', httpStatus: 401, retriable: false },
  LG_ERR_AUTH_FORBIDDEN: {
    message: 'the key lacks the role this call needs',
    httpStatus: 403,
    retriable: false,
  },
  LG_ERR_REQUEST_INVALID: { message: 'request is invalid', httpStatus: 400, retriable: false },
  LG_ERR_NOT_FOUND: { message: 'no such resource', httpStatus: 404, retriable: false },
  LG_ERR_BODY_TOO_LARGE: {
    message: 'request body exceeds the size limit',
    httpStatus: 413,
    retriable: false,
  },
  LG_ERR_UNSUPPORTED_MEDIA_TYPE: {
    message: 'unsupported content type or encoding',
    httpStatus: 415,
    retriable: false,
  },
  LG_ERR_KAFKA_UNAVAILABLE: { message: 'Kafka is unavailable', httpStatus: 503, retriable: true },
  LG_ERR_REGISTRY_UNAVAILABLE: {
    message: 'schema registry is unavailable',
    httpStatus: 503,
    retriable: true,
  },
  LG_ERR_REDIS_UNAVAILABLE: { message: 'Redis is unavailable', httpStatus: 503, retriable: true },
  LG_ERR_OVERLOADED: { message: 'too many requests in flight', httpStatus: 503, retriable: true },
  LG_ERR_SHUTTING_DOWN: { message: 'service is shutting down', httpStatus: 503, retriable: true },
  LG_ERR_SCHEMA_INCOMPATIBLE: {
    message: 'schema is not compatible with the registered one',
    httpStatus: 409,
    retriable: false,
  },
  LG_ERR_RECORD_INVALID: {
    message: 'record does not match its Avro schema',
    httpStatus: 400,
    retriable: false,
  },
  LG_ERR_STACK_PREREQUISITE: {
    message: 'a prerequisite of the local stack is missing',
    httpStatus: 500,
    retriable: false,
  },
  LG_ERR_STACK_START_FAILED: {
    message: 'a local stack process did not become healthy',
    httpStatus: 500,
    retriable: true,
  },
  LG_ERR_INTERNAL: { message: 'internal error', httpStatus: 500, retriable: false },

  // ── ingest ───────────────────────────────────────────────────────────────────────────────────
  ING_ERR_WORKER_LOST: {
    message: 'the batch worker stopped while handling the batch; nothing of it was produced',
    httpStatus: 503,
    retriable: true,
  },
  ING_ERR_FORMAT_UNKNOWN: { message: 'unknown log format', httpStatus: 404, retriable: false },
  ING_ERR_SOURCE_FORMAT_MISMATCH: {
    message: 'the key belongs to a source of another format',
    httpStatus: 403,
    retriable: false,
  },
  ING_ERR_BATCH_TOO_MANY_LINES: {
    message: 'batch holds more lines than the limit',
    httpStatus: 413,
    retriable: false,
  },
  ING_ERR_LINE_TOO_LONG: { message: 'line exceeds the length limit', httpStatus: 413, retriable: false },
  ING_ERR_LINE_MALFORMED: { message: 'line does not follow its format', httpStatus: 400, retriable: false },
  ING_ERR_JSON_INVALID: { message: 'line is not a JSON object', httpStatus: 400, retriable: false },
  ING_ERR_FIELD_COUNT: {
    message: 'line has a different number of fields than configured',
    httpStatus: 400,
    retriable: false,
  },
  ING_ERR_FIELD_MISSING: { message: 'a required field is missing', httpStatus: 400, retriable: false },
  ING_ERR_FIELD_INVALID: { message: 'a field has an invalid value', httpStatus: 400, retriable: false },
  ING_ERR_ACCOUNT_UNVERIFIED: {
    message: 'a heartbeat sent with a player key names its account only through a verified token',
    httpStatus: 400,
    retriable: false,
  },
  ING_ERR_TIMESTAMP_INVALID: {
    message: 'the event time is missing or invalid',
    httpStatus: 400,
    retriable: false,
  },
  ING_ERR_HEARTBEAT_INVALID: { message: 'heartbeat is invalid', httpStatus: 400, retriable: false },
  ING_ERR_ACCOUNT_INVALID: { message: 'account plan is invalid', httpStatus: 400, retriable: false },
  ING_ERR_RECORD_UNENCODABLE: {
    message: 'parsed line does not fit the record schema',
    httpStatus: 400,
    retriable: false,
  },
  ING_ERR_SHIP_CHECKPOINT_INVALID: {
    message: 'ship checkpoint file is unreadable or belongs to another input',
    httpStatus: 500,
    retriable: false,
  },
  ING_ERR_SHIP_GAVE_UP: {
    message: 'ship gave up after its retries',
    httpStatus: 503,
    retriable: true,
  },

  // ── detector ─────────────────────────────────────────────────────────────────────────────────
  DET_ERR_RULE_CONFIG_INVALID: {
    message: 'a rule override (tenant or plan) is invalid',
    httpStatus: 500,
    retriable: false,
  },
  DET_ERR_STATE_UNAVAILABLE: {
    message: 'the detector state store (RocksDB) cannot be opened or written',
    httpStatus: 503,
    retriable: true,
  },
  DET_ERR_INPUT_UNREADABLE: {
    message: 'a backtest input line is not a typed record',
    httpStatus: 400,
    retriable: false,
  },

  // ── enforcer ─────────────────────────────────────────────────────────────────────────────────
  ENF_ERR_POLICY_INVALID: { message: 'policy is invalid', httpStatus: 400, retriable: false },
  ENF_ERR_REVIEW_NOT_FOUND: {
    message: 'no review entry with this flag id',
    httpStatus: 404,
    retriable: false,
  },
  ENF_ERR_REVIEW_ALREADY_DECIDED: {
    message: 'the review entry was already decided',
    httpStatus: 409,
    retriable: false,
  },
  ENF_ERR_REVOCATION_NOT_FOUND: { message: 'no revocation with this id', httpStatus: 404, retriable: false },
  ENF_ERR_NO_ENFORCEABLE_SUBJECT: {
    message: "the flag does not name the subject the policy's action needs",
    httpStatus: 422,
    retriable: false,
  },
  ENF_ERR_NOT_READY: {
    message: 'the enforcer is still restoring its state',
    httpStatus: 503,
    retriable: true,
  },
  ENF_ERR_CSRF_INVALID: {
    message: 'a write signed in by cookie needs the x-csrf-token header of its sign-in',
    httpStatus: 403,
    retriable: false,
  },
  ENF_ERR_CURSOR_INVALID: {
    message: 'the cursor is not one this API returned',
    httpStatus: 400,
    retriable: false,
  },
  // enforcer / edge (decision API, session admission)
  ENF_ERR_DECISION_NO_SUBJECT: {
    message: 'give at least one of token, tokenHash, session, account',
    httpStatus: 400,
    retriable: false,
  },
  ENF_ERR_SESSION_LIMIT_REACHED: {
    message: 'the account has no free stream slot; stop one of its active sessions',
    httpStatus: 409,
    retriable: false,
  },
  ENF_ERR_SESSION_REVOKED: {
    message: 'the account or token is revoked',
    httpStatus: 403,
    retriable: false,
  },
  ENF_ERR_SESSION_NOT_FOUND: { message: 'no such active session', httpStatus: 404, retriable: false },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** An error of the world (bad input, unavailable dependency) that callers handle by its code. */
export class LeechguardError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retriable: boolean;
  /** Structured detail safe to return to the caller (never raw tokens). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    const spec = ERRORS[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, { cause: options?.cause });
    this.name = 'LeechguardError';
    this.code = code;
    this.httpStatus = spec.httpStatus;
    this.retriable = spec.retriable;
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string; retriable: boolean; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** The error again from its toJSON() form (e.g. after crossing a worker-thread boundary). */
export function leechguardErrorFromJSON(json: {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}): LeechguardError {
  const err = new LeechguardError(json.code, undefined, json.details ? { details: json.details } : undefined);
  err.message = json.message;
  return err;
}

export function isLeechguardError(err: unknown): err is LeechguardError {
  return err instanceof LeechguardError;
}
