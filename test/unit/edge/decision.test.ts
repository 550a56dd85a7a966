import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DenyEntry } from '../../../enforcer/denylist/keys.ts';
import {
  allowDecision,
  decisionFromEntry,
  failModeDecision,
  moreSevere,
  verdictOf,
} from '../../../enforcer/edge-client/decision.ts';

const entry = (action: DenyEntry['action']): DenyEntry => ({
  action,
  reason: 'r',
  rule: 'rule',
  revocationId: 'id',
  expiresAtMs: 1,
  issuedAtMs: 0,
  slate: null,
  throttleKbps: null,
});

test('every block action maps to block; throttle and substitute keep their verdict', () => {
  assert.equal(verdictOf('block_token'), 'block');
  assert.equal(verdictOf('evict_session'), 'block');
  assert.equal(verdictOf('block_account'), 'block');
  assert.equal(verdictOf('throttle'), 'throttle');
  assert.equal(verdictOf('substitute'), 'substitute');
});

test('block beats substitute beats throttle beats allow', () => {
  const t = decisionFromEntry('account', entry('throttle'), 'cache');
  const s = decisionFromEntry('account', entry('substitute'), 'cache');
  const b = decisionFromEntry('token', entry('block_token'), 'cache');
  assert.equal(moreSevere(allowDecision('cache'), t), t);
  assert.equal(moreSevere(t, s), s);
  assert.equal(moreSevere(s, b), b);
  assert.equal(moreSevere(b, t), b);
});

test('fail-closed blocks with a reason, fail-open allows', () => {
  assert.equal(failModeDecision('closed').decision, 'block');
  assert.equal(failModeDecision('closed').source, 'fail-closed');
  assert.equal(failModeDecision('open').decision, 'allow');
});
