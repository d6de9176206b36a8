/**
 * The BanStore contract: one suite, run against every implementation (ban-store.test.ts runs it on
 * MemoryBanStore and on DynamoDbBanStore over dynalite), so the in-memory store is a trustworthy
 * stand-in for the DynamoDB one in unit tests.
 */
import { describe, expect, it } from 'vitest';
import { type Ban, isBanActive } from '../../lambda/core/ban.js';
import type { FailureEvent } from '../../lambda/core/policy/failure-window.js';
import type { BanStore } from '../../lambda/ports/ban-store.js';

const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function aBan(overrides: Partial<Ban> = {}): Ban {
  return {
    jail: 'freeswitch',
    cidr: '203.0.113.7/32',
    createdAt: T0,
    expiresAt: T0 + HOUR,
    source: 'detector',
    failures: 5,
    banCount: 1,
    ...overrides,
  };
}

const f = (id: string, time: number): FailureEvent => ({ id, time });
const byId = (a: FailureEvent, b: FailureEvent) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const sorted = (list: readonly FailureEvent[]) => [...list].sort(byId);

/** Builds a fresh, empty store (its own table) for one test. */
export type StoreFactory = () => Promise<BanStore>;

export function banStoreContract(name: string, fresh: StoreFactory): void {
  describe(`BanStore contract: ${name}`, () => {
    describe('recordFailures', () => {
      it('stores new failures and returns the whole window with the number added', async () => {
        const store = await fresh();
        const first = await store.recordFailures(
          'freeswitch',
          '203.0.113.7',
          [f('e1:0', T0), f('e2:0', T0 + 1000)],
          T0 + HOUR,
        );
        expect(first.added).toBe(2);
        expect(sorted(first.failures)).toEqual([f('e1:0', T0), f('e2:0', T0 + 1000)]);

        const second = await store.recordFailures(
          'freeswitch',
          '203.0.113.7',
          [f('e2:0', T0 + 1000), f('e3:0', T0 + 2000)],
          T0 + HOUR,
        );
        expect(second.added).toBe(1);
        expect(sorted(second.failures).map((x) => x.id)).toEqual(['e1:0', 'e2:0', 'e3:0']);
      });

      it('is idempotent: the same failures recorded again change nothing', async () => {
        const store = await fresh();
        const batch = [f('e1:0', T0), f('e1:1', T0), f('e2:0', T0 + 5)];
        await store.recordFailures('freeswitch', '203.0.113.7', batch, T0 + HOUR);
        const again = await store.recordFailures('freeswitch', '203.0.113.7', batch, T0 + HOUR);
        expect(again.added).toBe(0);
        expect(sorted(again.failures)).toEqual(sorted(batch));
      });

      it('counts an id given twice in one call once', async () => {
        const store = await fresh();
        const out = await store.recordFailures(
          'freeswitch',
          '203.0.113.7',
          [f('e1:0', T0), f('e1:0', T0)],
          T0 + HOUR,
        );
        expect(out.added).toBe(1);
        expect(out.failures).toEqual([f('e1:0', T0)]);
      });

      it('keeps one window per (jail, address)', async () => {
        const store = await fresh();
        await store.recordFailures('freeswitch', '203.0.113.7', [f('a', T0)], T0 + HOUR);
        await store.recordFailures('asterisk', '203.0.113.7', [f('b', T0)], T0 + HOUR);
        const other = await store.recordFailures(
          'freeswitch',
          '203.0.113.8',
          [f('c', T0)],
          T0 + HOUR,
        );
        expect(other.failures.map((x) => x.id)).toEqual(['c']);
        const none = await store.recordFailures('freeswitch', '203.0.113.7', [], T0 + HOUR);
        expect(none).toEqual({ failures: [f('a', T0)], added: 0 });
        const empty = await store.recordFailures('freeswitch', '2001:db8::1', [], T0 + HOUR);
        expect(empty).toEqual({ failures: [], added: 0 });
      });

      it('round-trips ids holding separators and fractional times', async () => {
        const store = await fresh();
        const odd = [
          f('id|with|bars:0', T0 + 0.3),
          f('49610000000000000000000000000000000000000000000000000000:12', T0),
        ];
        await store.recordFailures('freeswitch', '2001:db8::7', odd, T0 + HOUR);
        const out = await store.recordFailures('freeswitch', '2001:db8::7', [], T0 + HOUR);
        expect(sorted(out.failures)).toEqual(sorted(odd));
      });

      it('loses no failure when many writers record into one window at once', async () => {
        const store = await fresh();
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            store.recordFailures(
              'freeswitch',
              '203.0.113.7',
              [f(`w${i}:0`, T0 + i), f('shared:0', T0)],
              T0 + HOUR,
            ),
          ),
        );
        const final = await store.recordFailures('freeswitch', '203.0.113.7', [], T0 + HOUR);
        expect(final.failures).toHaveLength(13);
        // Every distinct failure was new to exactly one writer.
        expect(results.reduce((n, r) => n + r.added, 0)).toBe(13);
      });
    });

    describe('forgetFailures', () => {
      it('removes the given failures and keeps the others', async () => {
        const store = await fresh();
        const { failures } = await store.recordFailures(
          'freeswitch',
          '203.0.113.7',
          [f('old:0', T0 - 2 * HOUR), f('new:0', T0)],
          T0 + HOUR,
        );
        await store.forgetFailures(
          'freeswitch',
          '203.0.113.7',
          failures.filter((x) => x.id === 'old:0'),
        );
        await store.forgetFailures('freeswitch', '203.0.113.7', []);
        const out = await store.recordFailures('freeswitch', '203.0.113.7', [], T0 + HOUR);
        expect(out.failures).toEqual([f('new:0', T0)]);
      });
    });

    describe('putBan', () => {
      it('creates a ban and reads it back with every field', async () => {
        const store = await fresh();
        const ban = aBan({
          reason: '5 failures in 10m',
          matches: ['line one', 'line two'],
          logGroup: '/sbc/freeswitch',
          logStream: 'i-0123',
          lastFailureAt: T0 - 1000,
        });
        expect(await store.putBan(ban, T0, undefined)).toBe('created');
        expect(await store.bansOf('203.0.113.7/32')).toEqual([ban]);
        expect(await store.listBans()).toEqual([ban]);
        expect(await store.getBans([{ jail: 'freeswitch', cidr: '203.0.113.7/32' }])).toEqual([
          ban,
        ]);
      });

      it('keeps a permanent ban (expiresAt null) active forever', async () => {
        const store = await fresh();
        const ban = aBan({ expiresAt: null, cidr: '2001:db8::7/128' });
        expect(await store.putBan(ban, T0, undefined)).toBe('created');
        const [read] = await store.bansOf('2001:db8::7/128');
        expect(read?.expiresAt).toBeNull();
        expect(await store.putBan(aBan({ cidr: '2001:db8::7/128' }), T0 + 1000 * HOUR, read)).toBe(
          'already-banned',
        );
      });

      it('refuses a second ban while one is active, whoever asks', async () => {
        const store = await fresh();
        const first = aBan();
        expect(await store.putBan(first, T0, undefined)).toBe('created');
        expect(await store.putBan(aBan({ createdAt: T0 + 1 }), T0 + 1, undefined)).toBe(
          'already-banned',
        );
        expect(await store.putBan(aBan({ banCount: 2 }), T0 + MINUTE, first)).toBe(
          'already-banned',
        );
        expect(await store.bansOf(first.cidr)).toEqual([first]);
      });

      it('of 8 concurrent writers of the same ban, exactly one creates it', async () => {
        const store = await fresh();
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            store.putBan(aBan({ createdAt: T0 + i }), T0, undefined),
          ),
        );
        expect(results.filter((r) => r === 'created')).toHaveLength(1);
        expect(results.filter((r) => r === 'already-banned')).toHaveLength(7);
        expect(await store.bansOf('203.0.113.7/32')).toHaveLength(1);
      });

      it('re-bans once the previous ban has expired, based on the record read', async () => {
        const store = await fresh();
        const first = aBan({ expiresAt: T0 + HOUR });
        await store.putBan(first, T0, undefined);
        const later = T0 + HOUR; // expiresAt == now: no longer active
        expect(isBanActive(first, later)).toBe(false);
        const second = aBan({ createdAt: later, expiresAt: later + 2 * HOUR, banCount: 2 });
        expect(await store.putBan(second, later, first)).toBe('created');
        expect(await store.bansOf(first.cidr)).toEqual([second]);
      });

      it('of concurrent re-bans after expiry, exactly one wins', async () => {
        const store = await fresh();
        const first = aBan();
        await store.putBan(first, T0, undefined);
        const later = T0 + 2 * HOUR;
        const results = await Promise.all(
          Array.from({ length: 8 }, () =>
            store.putBan(
              aBan({ createdAt: later, expiresAt: later + HOUR, banCount: 2 }),
              later,
              first,
            ),
          ),
        );
        expect(results.filter((r) => r === 'created')).toHaveLength(1);
        expect(results.filter((r) => r === 'already-banned')).toHaveLength(7);
      });

      it("reports 'conflict' when the record changed since the caller read it", async () => {
        const store = await fresh();
        const first = aBan();
        await store.putBan(first, T0, undefined);
        const later = T0 + 2 * HOUR;
        // The caller did not see the (now expired) record.
        expect(await store.putBan(aBan({ createdAt: later }), later, undefined)).toBe('conflict');
        // The caller read a record that has since been replaced (banCount 2, also expired now).
        const second = aBan({ createdAt: later, expiresAt: later + HOUR, banCount: 2 });
        expect(await store.putBan(second, later, first)).toBe('created');
        const muchLater = later + 5 * HOUR;
        expect(
          await store.putBan(aBan({ createdAt: muchLater, banCount: 2 }), muchLater, first),
        ).toBe('conflict');
        expect(await store.bansOf(first.cidr)).toEqual([second]);
      });
    });

    describe('reading bans', () => {
      it('bansOf returns one CIDR in every jail, expired records included, and nothing else', async () => {
        const store = await fresh();
        const a = aBan({ jail: 'freeswitch' });
        const b = aBan({ jail: 'asterisk', expiresAt: T0 - 1 });
        const other = aBan({ cidr: '203.0.113.70/32' });
        const v6 = aBan({ cidr: '2001:db8::7/128' });
        for (const ban of [a, b, other, v6]) await store.putBan(ban, T0 - HOUR, undefined);
        const got = await store.bansOf('203.0.113.7/32');
        expect(got.map((x) => x.jail).sort()).toEqual(['asterisk', 'freeswitch']);
        expect(await store.bansOf('203.0.113.70/32')).toEqual([other]);
        expect(await store.bansOf('198.51.100.1/32')).toEqual([]);
        expect(await store.listBans()).toHaveLength(4);
      });

      it('getBans returns the existing records of many keys, duplicates and misses tolerated', async () => {
        const store = await fresh();
        const bans = Array.from({ length: 120 }, (_, i) =>
          aBan({ cidr: `198.51.100.${i}/32`, expiresAt: i % 2 ? T0 + HOUR : T0 - HOUR }),
        );
        await Promise.all(bans.map((b) => store.putBan(b, T0 - 2 * HOUR, undefined)));
        const keys = [
          ...bans.map((b) => ({ jail: b.jail, cidr: b.cidr })),
          ...Array.from({ length: 30 }, (_, i) => ({
            jail: 'freeswitch',
            cidr: `192.0.2.${i}/32`,
          })),
          { jail: 'asterisk', cidr: '198.51.100.1/32' },
          { jail: 'freeswitch', cidr: '198.51.100.1/32' },
        ];
        const got = await store.getBans(keys);
        expect(got).toHaveLength(120);
        expect(new Set(got.map((b) => b.cidr))).toEqual(new Set(bans.map((b) => b.cidr)));
        expect(await store.getBans([])).toEqual([]);
      });
    });

    describe('markExpired', () => {
      it('marks swept bans that are no longer active, never an active one', async () => {
        const store = await fresh();
        const gone = aBan({ cidr: '203.0.113.1/32', expiresAt: T0 - MINUTE });
        const active = aBan({ cidr: '203.0.113.2/32', expiresAt: T0 + HOUR });
        await store.putBan(gone, T0 - HOUR, undefined);
        await store.putBan(active, T0 - HOUR, undefined);
        await store.markExpired([gone, active], T0);
        expect((await store.bansOf(gone.cidr))[0]?.expired).toBe(true);
        expect((await store.bansOf(active.cidr))[0]?.expired).toBeUndefined();
      });
    });

    describe('releaseBans', () => {
      it('ends matching active bans now and returns them; nothing without a filter', async () => {
        const store = await fresh();
        const a = aBan({ cidr: '203.0.113.1/32' });
        const b = aBan({ cidr: '203.0.113.2/32', jail: 'asterisk' });
        const perm = aBan({ cidr: '203.0.113.3/32', expiresAt: null });
        const old = aBan({ cidr: '203.0.113.4/32', expiresAt: T0 - 1 });
        for (const ban of [a, b, perm, old]) await store.putBan(ban, T0 - HOUR, undefined);
        const now = T0 + MINUTE;
        expect(await store.releaseBans({}, now)).toEqual([]);
        const byCidr = await store.releaseBans({ cidr: '203.0.113.1/32' }, now);
        expect(byCidr).toEqual([{ ...a, expiresAt: now }]);
        const byJail = await store.releaseBans({ jail: 'asterisk' }, now);
        expect(byJail.map((x) => x.cidr)).toEqual(['203.0.113.2/32']);
        const rest = await store.releaseBans({ all: true }, now);
        expect(rest.map((x) => x.cidr)).toEqual(['203.0.113.3/32']);
        expect(await store.releaseBans({ all: true }, now)).toEqual([]);
        const after = await store.listBans();
        expect(after).toHaveLength(4);
        expect(after.filter((x) => isBanActive(x, now))).toEqual([]);
        // A released ban can be replaced by a new one, based on the released record.
        const released = (await store.bansOf('203.0.113.1/32'))[0];
        expect(
          await store.putBan(aBan({ cidr: '203.0.113.1/32', banCount: 2 }), now, released),
        ).toBe('created');
      });
    });

    describe('runtime allowlist', () => {
      it('adds, lists and removes entries per jail or for every jail', async () => {
        const store = await fresh();
        await store.addIgnore({ cidr: '192.0.2.0/24' });
        await store.addIgnore({ cidr: '192.0.2.0/24' });
        await store.addIgnore({ cidr: '192.0.2.0/24', jail: 'asterisk' });
        await store.addIgnore({ cidr: '2001:db8::/32', jail: 'freeswitch' });
        const key = (e: { cidr: string; jail?: string }) => `${e.cidr}#${e.jail ?? '*'}`;
        expect((await store.listIgnores()).map(key).sort()).toEqual([
          '192.0.2.0/24#*',
          '192.0.2.0/24#asterisk',
          '2001:db8::/32#freeswitch',
        ]);
        expect(await store.removeIgnore({ cidr: '192.0.2.0/24', jail: 'asterisk' })).toBe(true);
        expect(await store.removeIgnore({ cidr: '192.0.2.0/24', jail: 'asterisk' })).toBe(false);
        expect((await store.listIgnores()).map(key).sort()).toEqual([
          '192.0.2.0/24#*',
          '2001:db8::/32#freeswitch',
        ]);
      });
    });

    describe('runtime jail overrides', () => {
      it("writes, replaces, lists and deletes a jail's overrides", async () => {
        const store = await fresh();
        expect(await store.listJailOverrides()).toEqual([]);
        await store.putJailOverride({ jail: 'freeswitch', bantime: 3 * 86_400_000 });
        await store.putJailOverride({ jail: 'asterisk', maxretry: 3, findtime: HOUR, bantime: -1 });
        await store.putJailOverride({ jail: 'freeswitch', maxretry: 10 });
        const list = [...(await store.listJailOverrides())].sort((a, b) =>
          a.jail.localeCompare(b.jail),
        );
        expect(list).toEqual([
          { jail: 'asterisk', maxretry: 3, findtime: HOUR, bantime: -1 },
          { jail: 'freeswitch', maxretry: 10 },
        ]);
        await store.putJailOverride({ jail: 'asterisk' });
        expect(await store.listJailOverrides()).toEqual([{ jail: 'freeswitch', maxretry: 10 }]);
      });
    });

    describe('stats', () => {
      it('accumulates per-jail counters', async () => {
        const store = await fresh();
        await store.addStats('freeswitch', 10, 1);
        await store.addStats('freeswitch', 5, 0);
        await store.addStats('asterisk', 3, 2);
        const stats = [...(await store.listStats())].sort((a, b) => a.jail.localeCompare(b.jail));
        expect(stats).toEqual([
          { jail: 'asterisk', totalFailed: 3, totalBanned: 2 },
          { jail: 'freeswitch', totalFailed: 15, totalBanned: 1 },
        ]);
      });
    });
  });
}
