/**
 * In-memory ban store: the contract-suite twin of the DynamoDB store, used by unit tests and
 * anywhere a process-local store is enough. Counts its calls like the DynamoDB store counts
 * requests, so tests can assert request budgets on either.
 */
import { type Ban, isBanActive } from '../core/ban.js';
import type { FailureEvent } from '../core/policy/failure-window.js';
import { isEmptyOverride } from '../core/policy/jail-overrides.js';
import type {
  BanKey,
  BanStore,
  IgnoreEntry,
  JailOverride,
  JailStats,
  PutBanResult,
  RecordedFailures,
} from '../ports/ban-store.js';
import type { FailingAddress, FailureWindowReader } from '../ports/failure-windows.js';

export class MemoryBanStore implements BanStore, FailureWindowReader {
  private readonly windows = new Map<string, Map<string, number>>();
  private readonly bans = new Map<string, Ban>();
  private readonly ignores = new Map<string, IgnoreEntry>();
  private readonly stats = new Map<string, { failed: number; banned: number }>();
  private readonly overrides = new Map<string, JailOverride>();
  /** Number of store operations performed (one per method call). */
  calls = 0;

  async recordFailures(
    jail: string,
    address: string,
    failures: readonly FailureEvent[],
  ): Promise<RecordedFailures> {
    this.calls++;
    const key = `${jail}\u0000${address}`;
    let w = this.windows.get(key);
    if (!w) {
      w = new Map();
      this.windows.set(key, w);
    }
    let added = 0;
    for (const f of failures) {
      const known = w.get(f.id);
      if (known === undefined) added++;
      // Like the DynamoDB store: one failure per id, the earliest time if an id came twice.
      if (known === undefined || f.time < known) w.set(f.id, f.time);
    }
    return { failures: [...w].map(([id, time]) => ({ id, time })), added };
  }

  async failingAddresses(jail: string, since: number): Promise<readonly FailingAddress[]> {
    const out: FailingAddress[] = [];
    for (const [key, w] of this.windows) {
      const [j, address] = key.split('\u0000') as [string, string];
      if (j !== jail) continue;
      let failures = 0;
      let last = Number.NEGATIVE_INFINITY;
      for (const time of w.values()) {
        if (time < since) continue;
        failures++;
        if (time > last) last = time;
      }
      if (failures > 0) out.push({ address, failures, lastFailureAt: last });
    }
    return out;
  }

  async forgetFailures(jail: string, address: string, failures: readonly FailureEvent[]) {
    if (failures.length === 0) return;
    this.calls++;
    const w = this.windows.get(`${jail}\u0000${address}`);
    for (const f of failures) w?.delete(f.id);
  }

  async bansOf(cidr: string): Promise<readonly Ban[]> {
    this.calls++;
    return [...this.bans.values()].filter((b) => b.cidr === cidr);
  }

  async getBans(keys: readonly BanKey[]): Promise<readonly Ban[]> {
    const unique = new Set(keys.map((k) => `${k.cidr}#${k.jail}`));
    this.calls += Math.ceil(unique.size / 100);
    return [...unique].flatMap((key) => this.bans.get(key) ?? []);
  }

  async putBan(ban: Ban, now: number, previous: Ban | undefined): Promise<PutBanResult> {
    this.calls++;
    const key = `${ban.cidr}#${ban.jail}`;
    const current = this.bans.get(key);
    if (current && isBanActive(current, now)) return 'already-banned';
    if ((current?.banCount ?? 0) !== (previous?.banCount ?? 0)) return 'conflict';
    this.bans.set(key, ban);
    return 'created';
  }

  async listBans(): Promise<readonly Ban[]> {
    this.calls++;
    return [...this.bans.values()];
  }

  async markExpired(bans: readonly Ban[], now: number): Promise<void> {
    this.calls++;
    for (const b of bans) {
      const key = `${b.cidr}#${b.jail}`;
      const current = this.bans.get(key);
      if (current && !isBanActive(current, now)) this.bans.set(key, { ...current, expired: true });
    }
  }

  async releaseBans(filter: { cidr?: string; jail?: string; all?: boolean }, now: number) {
    this.calls++;
    const released: Ban[] = [];
    for (const [key, b] of this.bans) {
      if (!isBanActive(b, now)) continue;
      if (!filter.all && filter.cidr === undefined && filter.jail === undefined) continue;
      if (filter.cidr !== undefined && b.cidr !== filter.cidr) continue;
      if (filter.jail !== undefined && b.jail !== filter.jail) continue;
      const r = { ...b, expiresAt: now };
      this.bans.set(key, r);
      released.push(r);
    }
    return released;
  }

  async addIgnore(entry: IgnoreEntry): Promise<void> {
    this.calls++;
    this.ignores.set(`${entry.cidr}#${entry.jail ?? '*'}`, entry);
  }

  async removeIgnore(entry: IgnoreEntry): Promise<boolean> {
    this.calls++;
    return this.ignores.delete(`${entry.cidr}#${entry.jail ?? '*'}`);
  }

  async listIgnores(): Promise<readonly IgnoreEntry[]> {
    this.calls++;
    return [...this.ignores.values()];
  }

  async putJailOverride(override: JailOverride): Promise<void> {
    this.calls++;
    if (isEmptyOverride(override)) this.overrides.delete(override.jail);
    else this.overrides.set(override.jail, { ...override });
  }

  async listJailOverrides(): Promise<readonly JailOverride[]> {
    this.calls++;
    return [...this.overrides.values()].map((o) => ({ ...o }));
  }

  async addStats(jail: string, failed: number, banned: number): Promise<void> {
    this.calls++;
    const s = this.stats.get(jail) ?? { failed: 0, banned: 0 };
    this.stats.set(jail, { failed: s.failed + failed, banned: s.banned + banned });
  }

  async listStats(): Promise<readonly JailStats[]> {
    this.calls++;
    return [...this.stats].map(([jail, s]) => ({
      jail,
      totalFailed: s.failed,
      totalBanned: s.banned,
    }));
  }
}
