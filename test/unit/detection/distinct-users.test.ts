/**
 * Distinct-user counting (lambda/core/policy/distinct-users.ts): the window counts users, a line
 * without a user counts on its own, and thinning a batch never changes the ban decision.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  countingKey,
  evaluateDistinctUsers,
  tagUser,
  thinDistinctUsers,
} from '../../../lambda/core/policy/distinct-users.js';
import type { FailureEvent } from '../../../lambda/core/policy/failure-window.js';

const f = (n: number, time: number, user?: string): FailureEvent => ({
  id: tagUser(`e${n}:0`, user),
  time,
});

describe('distinct users', () => {
  it('a scanner trying 5 extensions reaches maxretry 5; a phone retrying one user does not', () => {
    const scanner = [1001, 1002, 1003, 1004, 1005].map((u, i) => f(i, i * 1000, String(u)));
    expect(evaluateDistinctUsers(scanner, 5, 600_000)).toMatchObject({ ban: true, count: 5 });
    const phone = Array.from({ length: 50 }, (_, i) => f(i, i * 1000, '1001'));
    expect(evaluateDistinctUsers(phone, 5, 600_000)).toMatchObject({ ban: false, count: 1 });
  });

  it('failures without a user count one each; users outside findtime do not add up', () => {
    const acl = Array.from({ length: 5 }, (_, i) => f(i, i, undefined));
    expect(evaluateDistinctUsers(acl, 5, 600_000).ban).toBe(true);
    const slow = [1, 2, 3, 4, 5].map((u, i) => f(i, i * 700_000, String(u)));
    expect(evaluateDistinctUsers(slow, 2, 600_000).ban).toBe(false);
    // A ban floor consumes earlier failures.
    const all = [1, 2, 3].map((u, i) => f(i, i * 10, String(u)));
    expect(evaluateDistinctUsers(all, 3, 600_000, 10).ban).toBe(false);
  });

  it('user keys are short and stable whatever the user name holds', () => {
    const id = tagUser('123:0', 'x'.repeat(5000));
    expect(id).toMatch(/^123:0#u[0-9a-f]{8}$/);
    expect(countingKey(id)).toBe(countingKey(tagUser('9:1', 'x'.repeat(5000))));
    expect(countingKey(tagUser('1:0', 'a'))).not.toBe(countingKey(tagUser('1:0', 'b')));
    expect(tagUser('1:0', undefined)).toBe('1:0');
    expect(tagUser('1:0', '')).toBe('1:0');
  });

  it('property: thinning a batch keeps the decision, alone and with stored failures', () => {
    const failure = fc.record({
      n: fc.nat(40),
      time: fc.integer({ min: 0, max: 3000 }),
      user: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(failure, { maxLength: 40 }),
        fc.array(failure, { maxLength: 10 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 1500 }),
        (batch, stored, maxretry, findtime) => {
          // One time per event id, as CloudWatch events have (a redelivery repeats it).
          const b = batch.map((x) =>
            f(x.n, x.n * 73 + (x.user ? x.user.charCodeAt(0) % 7 : 0), x.user),
          );
          const s = stored.map((x) => f(100 + x.n, x.time, x.user));
          const thinned = thinDistinctUsers(b, maxretry, findtime);
          expect(evaluateDistinctUsers(thinned, maxretry, findtime).ban).toBe(
            evaluateDistinctUsers(b, maxretry, findtime).ban,
          );
          expect(evaluateDistinctUsers([...s, ...thinned], maxretry, findtime).ban).toBe(
            evaluateDistinctUsers([...s, ...b], maxretry, findtime).ban,
          );
        },
      ),
      { numRuns: 3000 },
    );
  }, 60_000);

  it('thinning bounds a one-user flood', () => {
    const flood = Array.from({ length: 10_000 }, (_, i) => f(i, i, '1001'));
    expect(thinDistinctUsers(flood, 5, 600_000).length).toBeLessThanOrEqual(2);
  });
});
