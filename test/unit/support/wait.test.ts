import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitFor } from '../../support/wait.ts';

describe('waitFor', () => {
  it('returns the first value other than undefined / false', async () => {
    let checks = 0;
    const value = await waitFor(
      'the third check',
      () => (++checks === 3 ? { checks } : checks > 3),
      5_000,
      1,
    );
    assert.deepEqual(value, { checks: 3 });
  });

  it('throws naming what it waited for once the time is up, the message read at that moment', async () => {
    let checks = 0;
    await assert.rejects(
      waitFor(
        () => `something after ${checks} checks`,
        () => {
          checks++;
          return false;
        },
        30,
        1,
      ),
      (err: Error) => {
        assert.match(err.message, /^timed out after 30 ms waiting for something after \d+ checks$/);
        assert.ok(checks > 1, 'checked more than once');
        assert.ok(err.message.endsWith(`${checks} checks`));
        return true;
      },
    );
  });

  it('does not retry a check that throws', async () => {
    let checks = 0;
    await assert.rejects(
      waitFor('a broken check', () => {
        checks++;
        throw new Error('broken');
      }),
      /broken/,
    );
    assert.equal(checks, 1);
  });
});
