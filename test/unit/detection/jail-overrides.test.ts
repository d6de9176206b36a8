/**
 * Runtime per-jail overrides (`cloudjail set`, issue 15 item 14): parsed and validated, applied by
 * the detector to the next batch (maxretry, findtime, bantime), and only where given.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBanStore } from '../../../lambda/adapters/memory-ban-store.js';
import { applyOverride, parseOverrideValue } from '../../../lambda/core/policy/jail-overrides.js';
import { RecordingEnforcementTrigger } from '../../../lambda/ports/enforcement-trigger.js';
import { type IngestDeps, ingestLogEvents } from '../../../lambda/use-cases/ingest-log-events.js';
import { aJail, FS_GROUP, HOUR, MINUTE, runtimeOf, T0 } from '../../helpers/detection.js';
import { eventId, freeswitchFailure } from '../../helpers/subscription-payload.js';

const ATTACKER = '203.0.113.7';

function batch(times: readonly number[], from = 0) {
  return {
    logGroup: FS_GROUP,
    logStream: 'i-0abc',
    events: times.map((t, i) => ({
      id: eventId(from + i),
      timestamp: t,
      message: freeswitchFailure(t, ATTACKER),
    })),
  };
}

function deps(store: MemoryBanStore): IngestDeps {
  return {
    store,
    trigger: new RecordingEnforcementTrigger(),
    jails: [aJail({ maxretry: 5, findtime: 10 * MINUTE, bantime: HOUR })].map(runtimeOf),
    ignoreip: [],
    runtimeIgnores: () => store.listIgnores(),
    jailOverrides: () => store.listJailOverrides(),
    now: () => T0,
  };
}

describe('runtime jail overrides', () => {
  it('the detector bans on the overridden maxretry, for the overridden bantime', async () => {
    const store = new MemoryBanStore();
    const times = [T0 - 3 * MINUTE, T0 - 2 * MINUTE, T0 - MINUTE];
    // Three failures do not reach the configured maxretry of 5...
    expect((await ingestLogEvents(batch(times), deps(store))).bans).toEqual([]);
    // ...but do once `cloudjail set freeswitch maxretry 3` and `bantime 3d` are stored.
    const other = new MemoryBanStore();
    await other.putJailOverride({ jail: 'freeswitch', maxretry: 3, bantime: 3 * 24 * HOUR });
    const report = await ingestLogEvents(batch(times), deps(other));
    expect(report.bans).toHaveLength(1);
    expect(report.bans[0]?.expiresAt).toBe(T0 + 3 * 24 * HOUR);
  });

  it("another jail's override changes nothing", async () => {
    const store = new MemoryBanStore();
    await store.putJailOverride({ jail: 'asterisk', maxretry: 1 });
    const report = await ingestLogEvents(batch([T0 - MINUTE, T0]), deps(store));
    expect(report.bans).toEqual([]);
  });

  it('values are validated; only maxretry, findtime and bantime can be set; reset removes', () => {
    expect(parseOverrideValue('bantime', '3d')).toEqual({ value: 3 * 24 * HOUR });
    expect(parseOverrideValue('bantime', '-1')).toEqual({ value: -1 });
    expect(parseOverrideValue('maxretry', '3')).toEqual({ value: 3 });
    expect(parseOverrideValue('findtime', 'reset')).toEqual({ value: undefined });
    expect(parseOverrideValue('findtime', '-1')).toHaveProperty('problem');
    expect(parseOverrideValue('maxretry', '0')).toHaveProperty('problem');
    expect(parseOverrideValue('deny', 'all')).toEqual({
      problem: expect.stringContaining('cannot be changed at runtime'),
    });
    const jail = aJail({ maxretry: 5 });
    expect(applyOverride(jail, [])).toBe(jail);
    expect(applyOverride(jail, [{ jail: jail.name, maxretry: 2 }]).maxretry).toBe(2);
  });
});
