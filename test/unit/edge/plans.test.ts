import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sessionsSection } from '../../../enforcer/sessions/config.ts';
import { contentMatches, limitsFor, PlanView } from '../../../enforcer/sessions/plans.ts';

test('a group pattern ending in * matches by prefix, others exactly', () => {
  assert.equal(contentMatches('studio-*', 'studio-42'), true);
  assert.equal(contentMatches('studio-*', 'other'), false);
  assert.equal(contentMatches('movie-1', 'movie-1'), true);
  assert.equal(contentMatches('movie-1', 'movie-10'), false);
});

test('limits name only the groups the content belongs to', () => {
  const l = limitsFor(
    {
      streamLimit: 4,
      perTitleLimit: 2,
      concurrencyGroups: [
        { groupId: 'a', limit: 1, contentIdPatterns: ['a-*'] },
        { groupId: 'b', limit: 3, contentIdPatterns: ['b-1'] },
      ],
    },
    'a-9',
  );
  assert.deepEqual(l, { n: 4, p: 2, g: { a: 1 }, groups: ['a'] });
});

test('no per-title limit is sent as 0', () => {
  assert.equal(limitsFor({ streamLimit: 1, perTitleLimit: null, concurrencyGroups: [] }, 'x').p, 0);
});

test('an unknown account gets its tenant default, else the default tenant plan; a tombstone forgets', () => {
  const view = new PlanView({
    default: { streamLimit: 2, perTitleLimit: null, concurrencyGroups: [] },
    kids: { streamLimit: 1, perTitleLimit: null, concurrencyGroups: [] },
  });
  assert.equal(view.get('a', 'kids').plan.streamLimit, 1);
  assert.equal(view.get('a', 'nope').plan.streamLimit, 2);
  view.apply('a', {
    accountId: 'a',
    tenant: 'kids',
    planId: 'premium',
    streamLimit: 4,
    perTitleLimit: null,
    concurrencyGroups: [],
    updatedAtMs: 0,
  });
  assert.deepEqual([view.get('a').plan.streamLimit, view.get('a').tenant], [4, 'kids']);
  view.apply('a', null);
  assert.equal(view.get('a').plan.streamLimit, 2);
});

test('a ghost grace shorter than the heartbeat interval is refused at boot', () => {
  assert.equal(
    sessionsSection.safeParse({ heartbeatIntervalMs: 30_000, ghostGraceMs: 20_000 }).success,
    false,
  );
  assert.equal(sessionsSection.safeParse({}).success, true);
});

test('a stream limit above sessionsPerAccountMax is capped', () => {
  assert.equal(limitsFor({ streamLimit: 10_000, perTitleLimit: null, concurrencyGroups: [] }, 'x').n, 64);
});
