import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIMITS } from '../../../core/limits.ts';
import type { ReviewEntry } from '../../../core/schemas/generated.ts';
import { ReviewQueue } from '../../../enforcer/review/queue.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_800_000_000_000;

function entry(id: string, over: Partial<ReviewEntry>): ReviewEntry {
  return {
    anomalyId: id,
    anomalyVersion: 1,
    rule: 'token-network-spread',
    tenant: 'default',
    accountId: 'a',
    subjectKind: 'token',
    subjectKey: 'h',
    severity: 'high',
    status: 'pending',
    anomalyJson: '{}',
    createdAtMs: NOW - 60 * DAY,
    updatedAtMs: NOW - 60 * DAY,
    decidedBy: null,
    decidedAtMs: null,
    comment: null,
    revocationId: null,
    ...over,
  } as ReviewEntry;
}

test('decided review entries past the retention are named for tombstones; pending and recent ones stay', () => {
  const q = new ReviewQueue();
  const rows = [
    entry('old-approved', { status: 'approved', decidedBy: 'x', decidedAtMs: NOW - 40 * DAY }),
    entry('old-rejected', { status: 'rejected', decidedBy: 'x', decidedAtMs: NOW - 36 * DAY }),
    entry('recent', { status: 'approved', decidedBy: 'x', decidedAtMs: NOW - 10 * DAY }),
    entry('old-pending', {}),
  ];
  for (const [offset, value] of rows.entries())
    q.table.apply({ key: value.anomalyId, value, partition: 0, offset });
  assert.deepEqual(q.decidedBefore(NOW - LIMITS.enforcerReviewKeepAfterDecisionMs).sort(), [
    'old-approved',
    'old-rejected',
  ]);
  assert.ok(
    LIMITS.enforcerReviewKeepAfterDecisionMs > 30 * DAY,
    'kept past the anomalies topic retention, so a replayed flag cannot reopen a swept entry',
  );
});

test('an entry whose stored flag does not read back is left out of the list and counted, never a throw', () => {
  const q = new ReviewQueue();
  const rows = [
    entry('good-1', { anomalyJson: '{"id":"good-1"}', createdAtMs: NOW - 3 }),
    entry('foreign', { anomalyJson: '{not json', createdAtMs: NOW - 2 }),
    entry('good-2', { anomalyJson: '{"id":"good-2"}', createdAtMs: NOW - 1 }),
  ];
  for (const [offset, value] of rows.entries())
    q.table.apply({ key: value.anomalyId, value, partition: 0, offset });
  const page = q.list({ status: 'pending', limit: 10 });
  assert.deepEqual(
    page.items.map((v) => v.anomalyId),
    ['good-1', 'good-2'],
  );
  assert.equal(page.unreadable, 1);
  assert.equal(page.total, 3, 'total counts every entry matching the filter');
});
