import { describe, expect, it } from 'vitest';
import { MemoryBanStore } from '../../../lambda/adapters/memory-ban-store.js';
import type { JailConfig } from '../../../lambda/config/jail-config.js';
import type { Ban } from '../../../lambda/core/ban.js';
import type { BanStore, PutBanResult } from '../../../lambda/ports/ban-store.js';
import { RecordingEnforcementTrigger } from '../../../lambda/ports/enforcement-trigger.js';
import {
  type IngestDeps,
  ingestLogEvents,
  type JailRuntime,
  LINE_DATE_TOLERANCE_MS,
  type LogBatch,
  mapLimit,
} from '../../../lambda/use-cases/ingest-log-events.js';
import {
  AST_GROUP,
  aJail,
  FS_GROUP,
  HOUR,
  MINUTE,
  RecordingLogger,
  runtimeOf,
  SECOND,
  T0,
} from '../../helpers/detection.js';
import {
  asteriskFailure,
  eventId,
  freeswitchFailure,
  freeswitchNoise,
} from '../../helpers/subscription-payload.js';

const ATTACKER = '203.0.113.7';

interface Fixture {
  store: MemoryBanStore;
  trigger: RecordingEnforcementTrigger;
  logger: RecordingLogger;
  clock: { now: number };
  deps: IngestDeps;
}

function fixture(
  jails: readonly JailConfig[] = [aJail()],
  overrides: Partial<IngestDeps> & { store?: BanStore } = {},
): Fixture {
  const store = new MemoryBanStore();
  const trigger = new RecordingEnforcementTrigger();
  const logger = new RecordingLogger();
  const clock = { now: T0 };
  const deps: IngestDeps = {
    store,
    trigger,
    jails: jails.map(runtimeOf),
    ignoreip: [],
    runtimeIgnores: () => store.listIgnores(),
    now: () => clock.now,
    logger,
    ...overrides,
  };
  return { store, trigger, logger, clock, deps };
}

let nextId = 0;
/** A batch of FreeSWITCH failures of `address` at the given times (event timestamp = line time). */
function failures(times: readonly number[], address = ATTACKER, group = FS_GROUP): LogBatch {
  return {
    logGroup: group,
    logStream: 'i-0abc',
    events: times.map((t) => ({
      id: eventId(nextId++),
      timestamp: t,
      message: freeswitchFailure(t, address),
    })),
  };
}

const every = (count: number, gap: number, from = T0 - 5 * MINUTE) =>
  Array.from({ length: count }, (_, i) => from + i * gap);

async function windowOf(store: BanStore, address = ATTACKER, jail = 'freeswitch') {
  return (await store.recordFailures(jail, address, [], 0)).failures;
}

describe('ingestLogEvents', () => {
  describe('counting', () => {
    it('bans on maxretry failures within findtime and writes the whole ban record', async () => {
      const f = fixture();
      const batch = failures(every(5, 30 * SECOND));
      const report = await ingestLogEvents(batch, f.deps);
      expect(report).toMatchObject({
        events: 5,
        failures: 5,
        newFailures: 5,
        pairs: 1,
        alreadyBanned: 0,
      });
      expect(report.bans).toHaveLength(1);
      const [ban] = await f.store.listBans();
      expect(ban).toEqual(report.bans[0]);
      expect(ban).toMatchObject({
        jail: 'freeswitch',
        cidr: '203.0.113.7/32',
        createdAt: T0,
        expiresAt: T0 + HOUR,
        source: 'detector',
        failures: 5,
        banCount: 1,
        reason: '5 failures in 10m',
        logGroup: FS_GROUP,
        logStream: 'i-0abc',
        lastFailureAt: T0 - 5 * MINUTE + 4 * 30 * SECOND,
      });
      expect(ban?.matches).toHaveLength(3);
      expect(ban?.matches?.[0]).toContain(`from ip ${ATTACKER}`);
      expect(f.trigger.reasons).toEqual([`1 new ban(s) from ${FS_GROUP}`]);
      expect(await f.store.listStats()).toEqual([
        { jail: 'freeswitch', totalFailed: 5, totalBanned: 1 },
      ]);
    });

    it('does not ban on maxretry - 1 failures, and bans when a later batch completes the window', async () => {
      const f = fixture();
      const first = await ingestLogEvents(failures(every(4, MINUTE)), f.deps);
      expect(first.bans).toEqual([]);
      expect(f.trigger.reasons).toEqual([]);
      expect(await windowOf(f.store)).toHaveLength(4);
      const second = await ingestLogEvents(failures([T0 - 30 * SECOND]), f.deps);
      expect(second.bans.map((b) => b.cidr)).toEqual(['203.0.113.7/32']);
    });

    it('does not ban on maxretry failures spread over more than findtime', async () => {
      const f = fixture();
      const report = await ingestLogEvents(
        failures(every(5, 2.5 * MINUTE, T0 - 20 * MINUTE)),
        f.deps,
      );
      expect(report.bans).toEqual([]);
      // Spread over batches too: the window is by event time, not by arrival.
      for (const t of every(5, 3 * MINUTE, T0 - 15 * MINUTE)) {
        expect((await ingestLogEvents(failures([t], '203.0.113.9'), f.deps)).bans).toEqual([]);
      }
      expect(await f.store.listBans()).toEqual([]);
    });

    it('counts late and out-of-order batches by event time', async () => {
      const f = fixture();
      f.clock.now = T0 + 3 * HOUR; // delivered three hours late, newest first
      await ingestLogEvents(failures([T0 + 4 * MINUTE, T0 + 3 * MINUTE]), f.deps);
      const report = await ingestLogEvents(failures([T0 + 2 * MINUTE, T0 + MINUTE, T0]), f.deps);
      expect(report.bans).toHaveLength(1);
      expect(report.bans[0]?.lastFailureAt).toBe(T0 + 4 * MINUTE);
    });

    it('leaves counts unchanged when the same batch is delivered again', async () => {
      const f = fixture();
      const batch = failures(every(3, MINUTE));
      await ingestLogEvents(batch, f.deps);
      const windowBefore = await windowOf(f.store);
      const statsBefore = await f.store.listStats();
      const again = await ingestLogEvents(batch, f.deps);
      expect(again).toMatchObject({ failures: 3, newFailures: 0, bans: [] });
      expect(await windowOf(f.store)).toEqual(windowBefore);
      expect(await f.store.listStats()).toEqual(statsBefore);
      // And a banning batch delivered twice bans once.
      const banning = failures(every(5, SECOND, T0 - MINUTE), '198.51.100.5');
      expect((await ingestLogEvents(banning, f.deps)).bans).toHaveLength(1);
      const redelivered = await ingestLogEvents(banning, f.deps);
      expect(redelivered).toMatchObject({ bans: [], alreadyBanned: 5, newFailures: 0 });
      expect(await f.store.listBans()).toHaveLength(1);
      expect(f.trigger.reasons).toHaveLength(1);
    });

    it('counts an event id once even when it comes back inside a different batch', async () => {
      const f = fixture();
      const a = failures(every(4, SECOND));
      await ingestLogEvents(a, f.deps);
      // A later batch repeats two of those events and adds one new failure: 4 + 1 = 5 distinct.
      const b: LogBatch = {
        ...a,
        events: [...a.events.slice(2), ...failures([T0 - MINUTE]).events],
      };
      const report = await ingestLogEvents(b, f.deps);
      expect(report.newFailures).toBe(1);
      expect(report.bans.map((x) => x.failures)).toEqual([5]);
      expect(await f.store.listStats()).toEqual([
        { jail: 'freeswitch', totalFailed: 5, totalBanned: 1 },
      ]);
    });

    it('does not create a second ban for an address already banned in that jail', async () => {
      const f = fixture();
      await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      f.clock.now = T0 + 10 * MINUTE;
      const more = await ingestLogEvents(failures(every(6, SECOND, T0 + 9 * MINUTE)), f.deps);
      expect(more).toMatchObject({ bans: [], alreadyBanned: 6 });
      expect(await f.store.listBans()).toHaveLength(1);
      expect(f.trigger.reasons).toHaveLength(1);
    });

    it('never treats an expired ban as active, and a ban consumes its failures', async () => {
      const f = fixture();
      await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      f.clock.now = T0 + 2 * HOUR; // the 1h ban has expired; its record is still readable
      // One new failure: the five consumed ones do not count again.
      expect((await ingestLogEvents(failures([T0 + 2 * HOUR - MINUTE]), f.deps)).bans).toEqual([]);
      const report = await ingestLogEvents(
        failures(every(4, SECOND, T0 + 2 * HOUR - 30 * SECOND)),
        f.deps,
      );
      expect(report.bans.map((b) => b.banCount)).toEqual([2]);
    });

    it('keeps jails apart: the same address counts separately per jail', async () => {
      const fs = aJail({ logGroups: [FS_GROUP] });
      const ast = aJail({ name: 'asterisk', filter: 'asterisk', logGroups: [AST_GROUP] });
      const f = fixture([fs, ast]);
      await ingestLogEvents(failures(every(3, SECOND)), f.deps);
      const astBatch: LogBatch = {
        logGroup: AST_GROUP,
        logStream: 'pbx-1',
        events: every(3, SECOND).map((t) => ({
          id: eventId(nextId++),
          timestamp: t,
          message: asteriskFailure(t, ATTACKER),
        })),
      };
      expect((await ingestLogEvents(astBatch, f.deps)).bans).toEqual([]);
      expect(await windowOf(f.store, ATTACKER, 'asterisk')).toHaveLength(3);
    });

    it('ignores batches from log groups no jail reads', async () => {
      const f = fixture();
      const report = await ingestLogEvents(failures(every(9, SECOND), ATTACKER, '/other'), f.deps);
      expect(report).toMatchObject({ failures: 0, pairs: 0, bans: [] });
      expect(f.store.calls).toBe(0);
    });

    it('bans the server-written address, never one the attacker wrote into the line', async () => {
      const f = fixture();
      const lines = every(5, SECOND).map((t, i) => ({
        id: eventId(nextId++),
        timestamp: t,
        message: freeswitchFailure(t, ATTACKER, `198.51.100.${i + 1}`).replace(
          '@sip.example.com]',
          '@192.0.2.1] from ip 198.51.100.66]',
        ),
      }));
      const report = await ingestLogEvents(
        { logGroup: FS_GROUP, logStream: 's', events: lines },
        f.deps,
      );
      expect(report.bans.map((b) => b.cidr)).toEqual(['203.0.113.7/32']);
    });

    it('bans IPv6 attackers as /128', async () => {
      const f = fixture();
      const report = await ingestLogEvents(failures(every(5, SECOND), '2001:db8:c0de::19'), f.deps);
      expect(report.bans.map((b) => b.cidr)).toEqual(['2001:db8:c0de::19/128']);
    });
  });

  describe('event time', () => {
    it("uses the line's own date when it is close to the event timestamp", async () => {
      const f = fixture();
      // All five were ingested at the same moment, but the lines say 3 minutes apart (12m span).
      const lines = every(5, 3 * MINUTE, T0 - 13 * MINUTE);
      const batch: LogBatch = {
        logGroup: FS_GROUP,
        logStream: 's',
        events: lines.map((t) => ({
          id: eventId(nextId++),
          timestamp: T0 - MINUTE,
          message: freeswitchFailure(t, ATTACKER),
        })),
      };
      expect(lines.every((t) => Math.abs(t - (T0 - MINUTE)) <= LINE_DATE_TOLERANCE_MS)).toBe(true);
      expect((await ingestLogEvents(batch, f.deps)).bans).toEqual([]);
      expect((await windowOf(f.store)).map((x) => x.time).sort()).toEqual(lines);
    });

    it('uses the event timestamp when the line date is far from it (wrong timezone)', async () => {
      const f = fixture();
      const stamps = every(5, 10 * SECOND);
      const batch: LogBatch = {
        logGroup: FS_GROUP,
        logStream: 's',
        // Lines written in UTC+2 but read as UTC, and 20 minutes apart: unusable dates.
        events: stamps.map((t, i) => ({
          id: eventId(nextId++),
          timestamp: t,
          message: freeswitchFailure(t + 2 * HOUR + i * 20 * MINUTE, ATTACKER),
        })),
      };
      const report = await ingestLogEvents(batch, f.deps);
      expect(report.bans).toHaveLength(1);
      // The batch banned on its own: the ban's last failure is the last CloudWatch timestamp, not
      // the (hours later) line date.
      expect(report.bans[0]?.lastFailureAt).toBe(stamps[stamps.length - 1]);
      expect(report.bans[0]?.consumedFailureIds).toHaveLength(5);
    });
  });

  describe('allowlist', () => {
    it('never counts addresses on the global, jail, or runtime allowlists', async () => {
      const f = fixture([aJail({ ignoreip: ['198.51.100.0/24'] })], {
        ignoreip: ['192.0.2.0/24', '2001:db8:1::/48'],
      });
      await f.store.addIgnore({ cidr: '203.0.113.0/28' }); // runtime, every jail
      await f.store.addIgnore({ cidr: '203.0.113.64/26', jail: 'freeswitch' }); // runtime, this jail
      await f.store.addIgnore({ cidr: '203.0.113.128/25', jail: 'asterisk' }); // another jail: no effect
      const allowed = [
        '192.0.2.9',
        '2001:db8:1::5',
        '198.51.100.200',
        '203.0.113.7',
        '203.0.113.70',
      ];
      let total = 0;
      for (const address of allowed) {
        const report = await ingestLogEvents(failures(every(10, SECOND), address), f.deps);
        expect(report).toMatchObject({ failures: 10, allowlisted: 10, pairs: 0, bans: [] });
        total += report.allowlisted;
        expect(await windowOf(f.store, address)).toEqual([]);
      }
      expect(total).toBe(50);
      expect(await f.store.listBans()).toEqual([]);
      expect(await f.store.listStats()).toEqual([]);
      // Not allowlisted: the other jail's runtime entry does not apply here.
      const other = await ingestLogEvents(failures(every(5, SECOND), '203.0.113.200'), f.deps);
      expect(other.bans.map((b) => b.cidr)).toEqual(['203.0.113.200/32']);
    });
  });

  describe('escalation', () => {
    const escalating = aJail({ bantime: '1h', 'bantime.increment': true, 'bantime.factor': 1 });

    async function banTwice(f: Fixture): Promise<[Ban, Ban]> {
      const first = await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      f.clock.now = T0 + 3 * HOUR;
      const second = await ingestLogEvents(
        failures(every(5, SECOND, T0 + 3 * HOUR - MINUTE)),
        f.deps,
      );
      return [first.bans[0] as Ban, second.bans[0] as Ban];
    }

    it("gives a repeat offender's second ban a longer duration", async () => {
      const f = fixture([escalating]);
      const [first, second] = await banTwice(f);
      expect(first.expiresAt! - first.createdAt).toBe(HOUR);
      expect(second.banCount).toBe(2);
      expect(second.expiresAt! - second.createdAt).toBe(2 * HOUR);
    });

    it('follows bantime.multipliers and bantime.maxtime', async () => {
      const f = fixture([
        aJail({ bantime: '1h', 'bantime.increment': true, 'bantime.multipliers': '1 5 30' }),
      ]);
      const [, second] = await banTwice(f);
      expect(second.expiresAt! - second.createdAt).toBe(5 * HOUR);
      const g = fixture([
        aJail({ bantime: '1h', 'bantime.increment': true, 'bantime.maxtime': '90m' }),
      ]);
      const [, capped] = await banTwice(g);
      expect(capped.expiresAt! - capped.createdAt).toBe(90 * MINUTE);
    });

    it('does not escalate without bantime.increment', async () => {
      const f = fixture([aJail({ bantime: '1h' })]);
      const [, second] = await banTwice(f);
      expect(second.banCount).toBe(2);
      expect(second.expiresAt! - second.createdAt).toBe(HOUR);
    });

    it('counts bans in every jail with bantime.overalljails', async () => {
      const f = fixture([aJail({ 'bantime.increment': true, 'bantime.overalljails': true })]);
      // Two earlier bans of this address in another jail (expired, still readable).
      const old: Ban = {
        jail: 'asterisk',
        cidr: '203.0.113.7/32',
        createdAt: T0 - 10 * HOUR,
        expiresAt: T0 - 9 * HOUR,
        source: 'detector',
        failures: 5,
        banCount: 2,
      };
      await f.store.putBan(old, T0 - 10 * HOUR, undefined);
      const report = await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      expect(report.bans[0]).toMatchObject({ banCount: 1, expiresAt: T0 + 4 * HOUR });
    });

    it('keeps permanent bans permanent', async () => {
      const f = fixture([aJail({ bantime: -1 })]);
      const report = await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      expect(report.bans[0]?.expiresAt).toBeNull();
    });
  });

  describe('a batch that bans on its own', () => {
    it('is one conditional write; its redelivery, even after the ban ended, counts nothing', async () => {
      const f = fixture();
      const batch = failures(every(5, SECOND));
      f.store.calls = 0;
      const first = await ingestLogEvents(batch, f.deps);
      expect(first.bans).toHaveLength(1);
      expect(first.newFailures).toBe(5);
      // listIgnores, getBans, putBan, addStats: no window write.
      expect(f.store.calls).toBe(4);
      expect(await windowOf(f.store)).toEqual([]);

      f.clock.now = T0 + 2 * HOUR; // the 1h ban has ended
      const late = await ingestLogEvents(batch, f.deps);
      expect(late).toMatchObject({ bans: [], newFailures: 0 });
      expect(await f.store.listStats()).toEqual([
        { jail: 'freeswitch', totalFailed: 5, totalBanned: 1 },
      ]);
    });

    it('still counts failures of the same batch the ban did not consume', async () => {
      const f = fixture();
      const batch = failures(every(5, SECOND));
      await ingestLogEvents(batch, f.deps);
      f.clock.now = T0 + 2 * HOUR;
      // The same events plus four new ones after the ban ended: four failures are not a ban.
      const more = failures(every(4, SECOND, T0 + 2 * HOUR - MINUTE));
      const mixed = { ...batch, events: [...batch.events, ...more.events] };
      const report = await ingestLogEvents(mixed, f.deps);
      expect(report).toMatchObject({ bans: [], newFailures: 4 });
      expect(await windowOf(f.store)).toHaveLength(4);
      // One more failure: a second ban, escalated.
      const fifth = await ingestLogEvents(failures([T0 + 2 * HOUR - 10 * SECOND]), f.deps);
      expect(fifth.bans).toHaveLength(1);
      expect(fifth.bans[0]?.banCount).toBe(2);
    });
  });

  describe('store requests', () => {
    it('makes about one request per (jail, address) for a 10,000-event batch with 100 attackers', async () => {
      const f = fixture();
      const attackers = Array.from({ length: 100 }, (_, i) => `198.51.100.${i + 1}`);
      const events = Array.from({ length: 10_000 }, (_, i) => {
        const t = T0 - 5 * MINUTE + i * 20; // 10,000 events over 200 s
        // Every other line is noise; the failures rotate over the 100 attackers (50 each).
        const message =
          i % 2 ? freeswitchNoise(t, i) : freeswitchFailure(t, attackers[(i / 2) % 100] as string);
        return { id: eventId(i, 7), timestamp: t, message };
      });
      const batch: LogBatch = { logGroup: FS_GROUP, logStream: 'busy', events };
      f.store.calls = 0;
      const report = await ingestLogEvents(batch, f.deps);
      expect(report).toMatchObject({ events: 10_000, failures: 5000, pairs: 100 });
      expect(report.bans).toHaveLength(100);
      // 1 allowlist read + 100 window writes + 1 batched ban read + 100 conditional ban writes + 1 stats.
      expect(f.store.calls).toBeLessThanOrEqual(100 + report.bans.length + 5);

      // The same batch again (a redelivery): the ban writes are gone, ~one request per pair.
      f.store.calls = 0;
      const again = await ingestLogEvents(batch, f.deps);
      expect(again.bans).toEqual([]);
      expect(f.store.calls).toBeLessThanOrEqual(100 + 5);

      // Below the threshold (maxretry 60): exactly one request per pair plus a constant.
      const g = fixture([aJail({ maxretry: 60 })]);
      g.store.calls = 0;
      const quiet = await ingestLogEvents(batch, g.deps);
      expect(quiet.bans).toEqual([]);
      expect(g.store.calls).toBeLessThanOrEqual(100 + 3);
    });

    it('stores a few failures of a flood from one address, not thousands', async () => {
      const f = fixture();
      const report = await ingestLogEvents(failures(every(5000, 10, T0 - MINUTE)), f.deps);
      expect(report).toMatchObject({ failures: 5000, newFailures: 5000 });
      expect(report.bans).toHaveLength(1);
      expect((await windowOf(f.store)).length).toBeLessThanOrEqual(5);
      expect(await f.store.listStats()).toEqual([
        { jail: 'freeswitch', totalFailed: 5000, totalBanned: 1 },
      ]);
    });

    it('keeps at most `concurrency` store requests in flight', async () => {
      const inner = new MemoryBanStore();
      let inFlight = 0;
      let peak = 0;
      const store: BanStore = Object.assign(Object.create(inner), {
        recordFailures: async (...args: Parameters<BanStore['recordFailures']>) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setImmediate(r));
          inFlight--;
          return (inner as BanStore).recordFailures(...args);
        },
      });
      const f = fixture([aJail()], { store, concurrency: 4, runtimeIgnores: async () => [] });
      const many = Array.from(
        { length: 40 },
        (_, i) => failures([T0 - i * SECOND], `198.51.100.${i + 1}`).events[0]!,
      );
      await ingestLogEvents({ logGroup: FS_GROUP, logStream: 's', events: many }, f.deps);
      expect(peak).toBe(4);
    });

    it('forgets failures no decision can need once a window grows large', async () => {
      const f = fixture([aJail({ maxretry: 5 })]);
      // A slow trickle, one failure every 11 minutes for 8 hours: never a ban, but the window grows.
      const times = every(45, 11 * MINUTE, T0 - 10 * HOUR);
      let largest = 0;
      for (const t of times) {
        f.clock.now = t + SECOND;
        await ingestLogEvents(failures([t]), f.deps);
        largest = Math.max(largest, (await windowOf(f.store)).length);
      }
      // Pruned once above max(4 × maxretry, 32) failures: older than 2 × findtime before now go.
      expect(largest).toBe(32);
      const left = (await windowOf(f.store)).map((x) => x.time).sort((a, b) => a - b);
      expect(left.length).toBeLessThan(32);
      expect(left[left.length - 1]).toBe(times[times.length - 1]);
      expect(await f.store.listBans()).toEqual([]);
    });

    it('also forgets the failures a ban consumed while the address stays banned', async () => {
      const f = fixture([aJail({ maxretry: 5, bantime: '1d' })]);
      await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      // Still attacking while banned (e.g. its ban is not enforced): every batch adds 5 failures.
      for (let i = 1; i <= 10; i++) {
        const at = T0 + i * 5 * MINUTE;
        f.clock.now = at;
        const r = await ingestLogEvents(failures(every(5, SECOND, at - MINUTE)), f.deps);
        expect(r.alreadyBanned).toBe(5);
      }
      expect((await windowOf(f.store)).length).toBeLessThanOrEqual(33);
    });
  });

  describe('races and retries', () => {
    /** A store whose putBan answers 'conflict' the first `times` times (another writer won a race). */
    function conflicting(times: number) {
      const inner = new MemoryBanStore();
      let left = times;
      let bansOfCalls = 0;
      const store: BanStore = Object.assign(Object.create(inner), {
        putBan: async (ban: Ban, now: number, previous: Ban | undefined): Promise<PutBanResult> => {
          if (left-- > 0) return 'conflict';
          return inner.putBan(ban, now, previous);
        },
        bansOf: async (cidr: string) => {
          bansOfCalls++;
          return inner.bansOf(cidr);
        },
      });
      return { inner, store, bansOfCalls: () => bansOfCalls };
    }

    it("re-reads the record after a 'conflict' and bans on the next attempt", async () => {
      const c = conflicting(1);
      const f = fixture([aJail()], { store: c.store, runtimeIgnores: async () => [] });
      const report = await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      expect(report.bans).toHaveLength(1);
      expect(c.bansOfCalls()).toBe(1);
      expect(await c.inner.listBans()).toHaveLength(1);
    });

    it('gives up after repeated conflicts without failing the batch, and says so', async () => {
      const c = conflicting(99);
      const f = fixture([aJail()], { store: c.store, runtimeIgnores: async () => [] });
      const report = await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      expect(report.bans).toEqual([]);
      expect(f.logger.messages('warn')).toContain(
        'ban record kept changing; left to the next batch',
      );
      // The failures are stored: the next batch decides again.
      expect(await windowOf(c.inner)).toHaveLength(5);
    });

    it("counts 'already-banned' from a concurrent writer as already banned", async () => {
      const inner = new MemoryBanStore();
      const store: BanStore = Object.assign(Object.create(inner), {
        putBan: async () => 'already-banned' as const,
      });
      const f = fixture([aJail()], { store, runtimeIgnores: async () => [] });
      const report = await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      expect(report).toMatchObject({ bans: [], alreadyBanned: 5 });
      expect(f.trigger.reasons).toEqual([]);
    });
  });

  describe('bad input and failures', () => {
    it('skips malformed events with context and counts the rest', async () => {
      const f = fixture();
      const good = failures(every(5, SECOND)).events;
      const batch = {
        logGroup: FS_GROUP,
        logStream: 'i-0abc',
        events: [
          null,
          { id: 'no-message', timestamp: T0 },
          { id: 'bad-time', timestamp: 'yesterday', message: freeswitchFailure(T0, ATTACKER) },
          { message: freeswitchFailure(T0, ATTACKER), timestamp: T0 },
          ...good,
        ],
      } as unknown as LogBatch;
      const report = await ingestLogEvents(batch, f.deps);
      expect(report).toMatchObject({ events: 9, skippedEvents: 4, failures: 5 });
      expect(report.bans).toHaveLength(1);
      const warnings = f.logger.entries.filter((e) => e.message === 'skipping malformed log event');
      expect(warnings.map((w) => w.extra.index)).toEqual([0, 1, 2, 3]);
      expect(warnings[1]?.extra).toMatchObject({
        logGroup: FS_GROUP,
        logStream: 'i-0abc',
        eventId: 'no-message',
        problem: 'no message string',
      });
      // Context only, never the message itself.
      expect(JSON.stringify(warnings)).not.toContain('sofia_reg');
    });

    it('skips an event its filter throws on and counts the rest', async () => {
      const cfg = aJail();
      const real = runtimeOf(cfg);
      const jail: JailRuntime = {
        config: cfg,
        createMatcher: () => {
          const m = real.createMatcher();
          return {
            ...m,
            matchEvent: (message, ctx) => {
              if (message.includes('boom')) throw new Error('engine bug');
              return m.matchEvent(message, ctx);
            },
          };
        },
      };
      const f = fixture([cfg], { jails: [jail] });
      const batch = failures(every(5, SECOND));
      const events = [{ id: 'x', timestamp: T0, message: 'boom' }, ...batch.events];
      const report = await ingestLogEvents({ ...batch, events }, f.deps);
      expect(report).toMatchObject({ skippedEvents: 1 });
      expect(report.bans).toHaveLength(1);
      expect(f.logger.entries.find((e) => e.extra.eventId === 'x')?.extra).toMatchObject({
        jail: 'freeswitch',
        error: 'engine bug',
      });
    });

    it('fails the batch on a store outage (Lambda retries it)', async () => {
      const inner = new MemoryBanStore();
      const outage = async () => {
        throw new Error('ServiceUnavailable');
      };
      const store: BanStore = Object.assign(Object.create(inner), {
        recordFailures: outage,
        getBans: outage,
        putBan: outage,
      });
      const f = fixture([aJail()], { store, runtimeIgnores: async () => [] });
      await expect(ingestLogEvents(failures(every(5, SECOND)), f.deps)).rejects.toThrow(
        'ServiceUnavailable',
      );
      expect(f.trigger.reasons).toEqual([]);
    });

    it('keeps the bans when the enforcer trigger fails (the schedule converges)', async () => {
      const f = fixture([aJail()], {
        trigger: {
          trigger: async () => {
            throw new Error('TooManyRequestsException');
          },
        },
      });
      const report = await ingestLogEvents(failures(every(5, SECOND)), f.deps);
      expect(report.bans).toHaveLength(1);
      expect(await f.store.listBans()).toHaveLength(1);
      expect(f.logger.messages('warn')).toContain(
        'enforcer trigger failed; the scheduled run will converge',
      );
    });

    it('cuts very long matched lines kept on the ban', async () => {
      const f = fixture();
      const user = 'x'.repeat(5000);
      const events = every(5, SECOND).map((t) => ({
        id: eventId(nextId++),
        timestamp: t,
        message: freeswitchFailure(t, ATTACKER, user),
      }));
      const report = await ingestLogEvents({ logGroup: FS_GROUP, logStream: 's', events }, f.deps);
      expect(report.bans[0]?.matches?.every((m) => m.length <= 1000)).toBe(true);
    });
  });
});

describe('ingestLogEvents: redelivery in other batches (backfill + live)', () => {
  it('a ban made by one batch keeps every failure id of it: re-batched, they count nothing', async () => {
    const f = fixture();
    // 8 failures in one batch: the ban needs 5 (maxretry), all 8 are counted.
    const batch = failures(every(8, SECOND));
    const first = await ingestLogEvents(batch, f.deps);
    expect(first.bans).toHaveLength(1);
    expect(first.newFailures).toBe(8);
    // The same events, delivered again in batches of 3 (as a backfill reads them).
    for (let i = 0; i < 8; i += 3) {
      const again = await ingestLogEvents(
        { ...batch, events: batch.events.slice(i, i + 3) },
        f.deps,
      );
      expect(again.newFailures).toBe(0);
      expect(again.bans).toEqual([]);
    }
    const stats = (await f.store.listStats()).find((j) => j.jail === 'freeswitch');
    expect(stats?.totalFailed).toBe(8);
  });
});

describe('mapLimit', () => {
  it('returns results in order and stops starting work after a failure', async () => {
    expect(await mapLimit([3, 1, 2], 2, async (n) => n * 10)).toEqual([30, 10, 20]);
    expect(await mapLimit([], 4, async (n: number) => n)).toEqual([]);
    const started: number[] = [];
    const run = mapLimit([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 2, async (n) => {
      started.push(n);
      await new Promise((r) => setImmediate(r));
      if (n === 1) throw new Error('outage');
      return n;
    });
    await expect(run).rejects.toThrow('outage');
    await new Promise((r) => setImmediate(r));
    expect(started.length).toBeLessThanOrEqual(3);
  });

  it('rejects only once the work in flight has settled (its writes can be accounted for)', async () => {
    const finished: number[] = [];
    const run = mapLimit([0, 1], 2, async (n) => {
      if (n === 0) throw new Error('outage');
      await new Promise((r) => setTimeout(r, 20));
      finished.push(n);
      return n;
    });
    await expect(run).rejects.toThrow('outage');
    expect(finished).toEqual([1]);
  });
});
