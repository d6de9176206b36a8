/**
 * The runtime allowlist use case: add (idempotent, jail check, bans still in force), list (runtime
 * then config), remove (runtime only; config entries are reported as such).
 */
import { describe, expect, it } from 'vitest';
import { MemoryBanStore } from '../../../lambda/adapters/memory-ban-store.js';
import { type Cidr, parseCidr } from '../../../lambda/core/ip-address.js';
import { addIgnore, listIgnores, removeIgnore } from '../../../lambda/use-cases/ignore-list.js';

const NOW = Date.UTC(2024, 10, 5, 3, 0, 0);
const cidr = (text: string): Cidr => parseCidr(text) as Cidr;

function setup() {
  const store = new MemoryBanStore();
  return {
    store,
    deps: {
      store,
      jails: [{ name: 'freeswitch', ignoreip: ['198.51.100.0/28'] }],
      ignoreip: ['192.0.2.0/28'],
      now: () => NOW,
    },
  };
}

describe('ignore list', () => {
  it('add is idempotent and lists runtime entries before the configuration', async () => {
    const { deps, store } = setup();
    expect((await addIgnore({ cidr: cidr('203.0.113.9') }, deps)).status).toBe('added');
    expect((await addIgnore({ cidr: cidr('203.0.113.9') }, deps)).status).toBe('exists');
    await addIgnore({ cidr: cidr('2001:db8::/48'), jail: 'freeswitch' }, deps);
    expect(await store.listIgnores()).toHaveLength(2);
    expect(await listIgnores(deps)).toEqual([
      { cidr: '2001:db8::/48', jail: 'freeswitch', source: 'runtime' },
      { cidr: '203.0.113.9/32', source: 'runtime' },
      { cidr: '192.0.2.0/28', source: 'config' },
      { cidr: '198.51.100.0/28', jail: 'freeswitch', source: 'config' },
    ]);
  });

  it('add reports bans still in force inside the range (an allowlist does not unban)', async () => {
    const { deps, store } = setup();
    const ban = {
      jail: 'freeswitch',
      cidr: '203.0.113.9/32',
      createdAt: NOW - 1000,
      expiresAt: NOW + 60_000,
      source: 'detector' as const,
      failures: 5,
      banCount: 1,
    };
    await store.putBan(ban, NOW - 1000, undefined);
    await store.putBan({ ...ban, cidr: '203.0.114.9/32' }, NOW - 1000, undefined);
    const out = await addIgnore({ cidr: cidr('203.0.113.0/24') }, deps);
    expect(out.status === 'added' && out.activeBans.map((b) => b.cidr)).toEqual(['203.0.113.9/32']);
  });

  it('an unknown jail is refused', async () => {
    const { deps, store } = setup();
    expect(await addIgnore({ cidr: cidr('203.0.113.9'), jail: 'sshd' }, deps)).toEqual({
      status: 'unknown-jail',
      jail: 'sshd',
      known: ['freeswitch'],
    });
    expect(await store.listIgnores()).toEqual([]);
  });

  it('remove: runtime entries go, config entries and unknown ones are reported', async () => {
    const { deps } = setup();
    await addIgnore({ cidr: cidr('203.0.113.9'), jail: 'freeswitch' }, deps);
    // The jail is part of the entry: without it, it is another entry.
    expect((await removeIgnore({ cidr: cidr('203.0.113.9') }, deps)).status).toBe('not-found');
    expect(
      (await removeIgnore({ cidr: cidr('203.0.113.9'), jail: 'freeswitch' }, deps)).status,
    ).toBe('removed');
    expect((await removeIgnore({ cidr: cidr('192.0.2.0/28') }, deps)).status).toBe('in-config');
    expect(
      (await removeIgnore({ cidr: cidr('198.51.100.0/28'), jail: 'freeswitch' }, deps)).status,
    ).toBe('in-config');
    expect(await listIgnores(deps)).toHaveLength(2);
  });
});
