import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  evaluateWindow,
  type FailureEvent,
  pruneFailures,
} from '../../../lambda/core/policy/failure-window.js';
import { thinFailures } from '../../../lambda/use-cases/ingest-log-events.js';

const MIN = 60_000;
const FINDTIME = 10 * MIN;
const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);
const ev = (n: number, time: number): FailureEvent => ({ id: `e${n}`, time });
const spaced = (count: number, gap: number, from = T0) =>
  Array.from({ length: count }, (_, i) => ev(i, from + i * gap));

/** Brute force: some findtime-long interval (t - findtime, t] holds maxretry distinct failures. */
function bruteForce(
  failures: readonly FailureEvent[],
  maxretry: number,
  findtime: number,
  floor = -Infinity,
) {
  const times = [
    ...new Map(failures.filter((f) => f.time > floor).map((f) => [f.id, f.time])).values(),
  ];
  return times.some(
    (end) => times.filter((t) => t <= end && end - t < findtime).length >= maxretry,
  );
}

describe('evaluateWindow: a strict sliding window by event time', () => {
  it('bans on maxretry failures within findtime', () => {
    const d = evaluateWindow(spaced(5, MIN), 5, FINDTIME);
    expect(d).toMatchObject({ ban: true, count: 5, at: T0 + 4 * MIN });
  });

  it('does not ban on maxretry - 1 failures', () => {
    expect(evaluateWindow(spaced(4, MIN), 5, FINDTIME)).toMatchObject({ ban: false, count: 4 });
  });

  it('does not ban on maxretry failures spread over more than findtime', () => {
    // 5 failures 2m30s apart span exactly 10m: the first and the last are not in one window.
    const d = evaluateWindow(spaced(5, 2.5 * MIN), 5, FINDTIME);
    expect(d).toMatchObject({ ban: false, count: 4 });
    // Even many failures never ban when no findtime holds maxretry of them.
    expect(evaluateWindow(spaced(50, 3 * MIN), 5, FINDTIME).ban).toBe(false);
  });

  it("differs from fail2ban's rate estimate: a burst of 4, then 1 more 10m later, is no ban", () => {
    // fail2ban (FailTicket.adjustTime) rescales retry = round(4 / 601 s × 600 s) = 4, adds 1 and
    // bans; no 10-minute window holds 5 of these failures, so cloudjail does not.
    const s = 1000;
    const list = [0, 1, 2, 3, 601].map((t, i) => ev(i, T0 + t * s));
    expect(evaluateWindow(list, 5, FINDTIME)).toMatchObject({ ban: false, count: 4 });
  });

  it('bans just inside the window', () => {
    expect(evaluateWindow(spaced(5, 2.5 * MIN - 1), 5, FINDTIME).ban).toBe(true);
  });

  it('counts an event id once, whatever the order of arrival', () => {
    const base = spaced(3, MIN);
    const d = evaluateWindow([...base, ...base, ...base].reverse(), 5, FINDTIME);
    expect(d).toMatchObject({ ban: false, count: 3 });
    expect(d.events.map((e) => e.id)).toEqual(['e0', 'e1', 'e2']);
  });

  it('ignores failures at or before the floor (consumed by the previous ban)', () => {
    const all = spaced(8, MIN);
    expect(evaluateWindow(all, 5, FINDTIME, T0 + 2 * MIN)).toMatchObject({ ban: true, count: 5 });
    expect(evaluateWindow(all, 5, FINDTIME, T0 + 3 * MIN)).toMatchObject({ ban: false, count: 4 });
  });

  it('agrees with a brute-force check (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ id: fc.integer({ min: 0, max: 40 }), time: fc.integer({ min: 0, max: 40 }) }),
        ),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 15 }),
        fc.option(fc.integer({ min: -1, max: 40 }), { nil: undefined }),
        (raw, maxretry, findtime, floor) => {
          const failures = raw.map((r) => ({ id: `i${r.id}`, time: r.time }));
          // One time per id, as the stores guarantee.
          const unique = [...new Map(failures.map((f) => [f.id, f])).values()];
          expect(evaluateWindow(unique, maxretry, findtime, floor).ban).toBe(
            bruteForce(unique, maxretry, findtime, floor),
          );
        },
      ),
    );
  });
});

describe('thinFailures: a flood stores a few failures, never changing a decision', () => {
  it('keeps maxretry failures per findtime of a flood', () => {
    const flood = spaced(5000, 100); // 5000 failures over ~8 minutes
    const kept = thinFailures(flood, 5, FINDTIME);
    expect(kept).toHaveLength(5);
    expect(evaluateWindow(kept, 5, FINDTIME).ban).toBe(true);
  });

  it('keeps every failure of a slow trickle', () => {
    const slow = spaced(20, 3 * MIN);
    expect(thinFailures(slow, 5, FINDTIME)).toHaveLength(20);
  });

  it('is deterministic and drops duplicate ids', () => {
    const batch = [ev(1, T0), ev(2, T0), ev(1, T0), ev(3, T0 + 1)];
    const a = thinFailures(batch, 2, FINDTIME);
    const b = thinFailures([...batch].reverse(), 2, FINDTIME);
    expect(a).toEqual(b);
    expect(a).toHaveLength(2);
  });

  it('preserves the decision with failures stored earlier and any ban floor (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 20 }),
        fc.option(fc.integer({ min: -1, max: 60 }), { nil: undefined }),
        (batchTimes, storedTimes, maxretry, findtime, floor) => {
          const batch = batchTimes.map((t, i) => ({ id: `b${i}`, time: t }));
          const stored = storedTimes.map((t, i) => ({ id: `s${i}`, time: t }));
          const kept = thinFailures(batch, maxretry, findtime);
          expect(kept.length).toBeLessThanOrEqual(batch.length);
          expect(evaluateWindow([...stored, ...kept], maxretry, findtime, floor).ban).toBe(
            evaluateWindow([...stored, ...batch], maxretry, findtime, floor).ban,
          );
        },
      ),
    );
  });
});

describe('pruneFailures', () => {
  it('drops failures older than the horizon and those consumed by a ban', () => {
    const list = [ev(1, 10), ev(2, 20), ev(3, 30), ev(4, 40)];
    expect(pruneFailures(list, 20)).toEqual({
      keep: [ev(2, 20), ev(3, 30), ev(4, 40)],
      drop: [ev(1, 10)],
    });
    expect(pruneFailures(list, 20, 30).keep).toEqual([ev(4, 40)]);
  });
});
