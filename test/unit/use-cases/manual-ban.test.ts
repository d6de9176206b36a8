/**
 * Manual ban/unban use case: allowlist refusal (config, jail, runtime), --force, durations, the
 * pseudo-jail, escalation count, already-banned, unban with the covering-range hint.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBanStore } from '../../../lambda/adapters/memory-ban-store.js';
import type { JailConfig } from '../../../lambda/config/jail-config.js';
import { type Cidr, parseCidr } from '../../../lambda/core/ip-address.js';
import { PERMANENT } from '../../../lambda/core/policy/duration.js';
import {
  MANUAL_DEFAULT_BANTIME,
  manualBan,
  manualUnban,
} from '../../../lambda/use-cases/manual-ban.js';

const NOW = Date.UTC(2024, 10, 5, 3, 0, 0);
const HOUR = 3_600_000;

const cidr = (text: string): Cidr => {
  const c = parseCidr(text);
  if (!c) throw new Error(text);
  return c;
};

type JailBits = Pick<JailConfig, 'name' | 'bantime' | 'ignoreip'>;
const JAILS: JailBits[] = [
  { name: 'freeswitch', bantime: HOUR, ignoreip: ['198.51.100.0/28'] },
  { name: 'asterisk', bantime: PERMANENT, ignoreip: [] },
];

function setup(now = NOW) {
  const store = new MemoryBanStore();
  const clock = { t: now };
  const deps = { store, jails: JAILS, ignoreip: ['192.0.2.0/28'], now: () => clock.t };
  return { store, clock, deps };
}

describe('manualBan', () => {
  it('bans in the manual pseudo-jail for one day by default', async () => {
    const { deps, store } = setup();
    const out = await manualBan({ cidr: cidr('203.0.113.7'), reason: 'scan' }, deps);
    expect(out).toMatchObject({
      status: 'banned',
      ban: {
        jail: 'manual',
        cidr: '203.0.113.7/32',
        createdAt: NOW,
        expiresAt: NOW + MANUAL_DEFAULT_BANTIME,
        source: 'manual',
        banCount: 1,
        reason: 'scan',
      },
    });
    expect(await store.bansOf('203.0.113.7/32')).toHaveLength(1);
    expect(await store.listStats()).toEqual([{ jail: 'manual', totalFailed: 0, totalBanned: 1 }]);
  });

  it("uses the jail's bantime, an explicit duration, or permanent", async () => {
    const { deps } = setup();
    const jail = await manualBan({ cidr: cidr('203.0.113.8'), jail: 'freeswitch' }, deps);
    const perm = await manualBan({ cidr: cidr('203.0.113.9'), jail: 'asterisk' }, deps);
    const given = await manualBan({ cidr: cidr('203.0.113.10'), duration: 2 * HOUR }, deps);
    const forever = await manualBan({ cidr: cidr('2001:db8::/64'), duration: PERMANENT }, deps);
    expect(jail.status === 'banned' && jail.ban.expiresAt).toBe(NOW + HOUR);
    expect(perm.status === 'banned' && perm.ban.expiresAt).toBeNull();
    expect(given.status === 'banned' && given.ban.expiresAt).toBe(NOW + 2 * HOUR);
    expect(forever.status === 'banned' && forever.ban.expiresAt).toBeNull();
  });

  it.each([
    ['192.0.2.5', undefined, 'ignoreip'],
    // A range containing an allowlisted address overlaps it too.
    ['192.0.2.0/24', undefined, 'ignoreip'],
    // The manual pseudo-jail denies all traffic: every jail's allowlist applies.
    ['198.51.100.3', undefined, 'jail'],
    ['198.51.100.3', 'freeswitch', 'jail'],
  ])('refuses %s (jail %s): allowlisted by %s', async (text, jail, source) => {
    const { deps, store } = setup();
    const out = await manualBan({ cidr: cidr(text), ...(jail ? { jail } : {}) }, deps);
    expect(out.status).toBe('refused');
    expect(out.status === 'refused' && out.allowlist.map((h) => h.source)).toContain(source);
    expect(await store.listBans()).toEqual([]);
  });

  it("another jail's allowlist does not apply to a detector jail", async () => {
    const { deps } = setup();
    const out = await manualBan({ cidr: cidr('198.51.100.3'), jail: 'asterisk' }, deps);
    expect(out.status).toBe('banned');
  });

  it('refuses a runtime-allowlisted range, and writes nothing', async () => {
    const { deps, store } = setup();
    await store.addIgnore({ cidr: '203.0.113.0/24', jail: 'asterisk' });
    const refused = await manualBan({ cidr: cidr('203.0.113.50'), jail: 'asterisk' }, deps);
    expect(refused).toEqual({
      status: 'refused',
      allowlist: [{ cidr: '203.0.113.0/24', source: 'runtime', jail: 'asterisk' }],
    });
    expect(await store.listBans()).toEqual([]);
  });

  it('an unknown jail is reported with the known ones', async () => {
    const { deps } = setup();
    expect(await manualBan({ cidr: cidr('203.0.113.7'), jail: 'sshd' }, deps)).toEqual({
      status: 'unknown-jail',
      jail: 'sshd',
      known: ['manual', 'freeswitch', 'asterisk'],
    });
  });

  it('already banned: keeps the record; after expiry a new ban counts the history', async () => {
    const { deps, clock } = setup();
    await manualBan({ cidr: cidr('203.0.113.7'), duration: HOUR }, deps);
    const again = await manualBan({ cidr: cidr('203.0.113.7'), duration: 5 * HOUR }, deps);
    expect(again.status).toBe('already-banned');
    expect(again.status === 'already-banned' && again.ban.expiresAt).toBe(NOW + HOUR);
    clock.t = NOW + 2 * HOUR;
    const later = await manualBan({ cidr: cidr('203.0.113.7'), duration: HOUR }, deps);
    expect(later.status === 'banned' && later.ban.banCount).toBe(2);
  });
});

describe('manualUnban', () => {
  it('releases the bans of an address in every jail, or of one jail', async () => {
    const { deps, store } = setup();
    await manualBan({ cidr: cidr('203.0.113.7') }, deps);
    await manualBan({ cidr: cidr('203.0.113.7'), jail: 'asterisk' }, deps);
    const one = await manualUnban({ cidr: cidr('203.0.113.7'), jail: 'asterisk' }, deps);
    expect(one.released.map((b) => b.jail)).toEqual(['asterisk']);
    const rest = await manualUnban({ cidr: cidr('203.0.113.7') }, deps);
    expect(rest.released.map((b) => b.jail)).toEqual(['manual']);
    expect((await store.listBans()).every((b) => b.expiresAt === NOW)).toBe(true);
  });

  it('nothing to release: names the active ranges covering the address', async () => {
    const { deps } = setup();
    await manualBan({ cidr: cidr('203.0.113.0/24'), jail: 'freeswitch' }, deps);
    const out = await manualUnban({ cidr: cidr('203.0.113.9') }, deps);
    expect(out.released).toEqual([]);
    expect(out.coveredBy.map((b) => b.cidr)).toEqual(['203.0.113.0/24']);
  });

  it('--all releases every active ban', async () => {
    const { deps } = setup();
    await manualBan({ cidr: cidr('203.0.113.7') }, deps);
    await manualBan({ cidr: cidr('2001:db8::7') }, deps);
    const out = await manualUnban({ all: true }, deps);
    expect(out.released.map((b) => b.cidr).sort()).toEqual(['2001:db8::7/128', '203.0.113.7/32']);
  });
});
