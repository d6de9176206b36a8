import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryBanStore } from '../../../lambda/adapters/memory-ban-store.js';
import {
  defaultDenyEntries,
  MemoryNetworkAcls,
} from '../../../lambda/adapters/memory-network-acls.js';
import { ENFORCEMENT_DEFAULTS } from '../../../lambda/config/target-config.js';
import {
  createEnforcerHandler,
  EnforcementFailedError,
  type EnforcerDeps,
  eventRequestsDryRun,
} from '../../../lambda/handlers/enforcer.js';
import { METRICS } from '../../../lib/runtime-contract.js';
import { allow, hostBans, T0 } from './helpers.js';

const ACL = 'acl-0123456789abcdef0';

async function deps(
  bans = hostBans(20),
  over: Partial<EnforcerDeps> = {},
): Promise<EnforcerDeps & { acls: MemoryNetworkAcls }> {
  const store = new MemoryBanStore();
  for (const b of bans) await store.putBan(b, T0, undefined);
  const acls = new MemoryNetworkAcls({
    acls: [{ naclId: ACL, entries: [allow(100, '0.0.0.0/0'), ...defaultDenyEntries()] }],
  });
  return {
    acls,
    store,
    nacls: acls,
    jails: [],
    ignoreip: [],
    targets: [
      {
        naclId: ACL,
        ipv4Band: { first: 1, last: 18 },
        ipv6Band: { first: 19, last: 36 },
        direction: 'inbound',
        adoptForeign: false,
      },
    ],
    settings: ENFORCEMENT_DEFAULTS,
    now: () => T0,
    sleep: async () => {},
    logger: { info: () => {}, warn: () => {} },
    ...over,
  };
}

/** EMF documents written to stdout during `fn`. */
async function emf<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; docs: Record<string, unknown>[] }> {
  const docs: Record<string, unknown>[] = [];
  const capture = (chunk: unknown) => {
    for (const line of String(chunk).split('\n')) {
      if (!line.includes('"_aws"')) continue;
      docs.push(JSON.parse(line) as Record<string, unknown>);
    }
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    capture(chunk);
    return true;
  });
  const log = vi.spyOn(console, 'log').mockImplementation((...args) => capture(args.join(' ')));
  const info = vi.spyOn(console, 'info').mockImplementation(() => {});
  try {
    return { result: await fn(), docs };
  } finally {
    out.mockRestore();
    log.mockRestore();
    info.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('enforcer handler', () => {
  it('runs the use case, returns the report and publishes EMF metrics', async () => {
    const d = await deps();
    const handler = createEnforcerHandler(() => d);
    const { result, docs } = await emf(() => handler({ source: 'cloudjail.schedule' }));
    expect(result.activeBans).toBe(20);
    expect(result.notEnforced).toBe(2);
    expect(result.mutations).toBe(18);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
    // BansNotEnforced per tier (dimension Tier); no publisher here, so the NACL tier only.
    const tiers = docs.filter((x) => METRICS.bansNotEnforced in x);
    expect(tiers.map((x) => [x[METRICS.tierDimension], x[METRICS.bansNotEnforced]])).toEqual([
      [METRICS.naclTier, 2],
    ]);
    expect(tiers[0]?.['service']).toBe(METRICS.enforcerService);
    const doc = docs.find((x) => METRICS.activeBans in x);
    expect(doc?.[METRICS.activeBans]).toBe(20);
    expect(doc?.[METRICS.naclMutations]).toBe(18);
    expect(doc?.[METRICS.ec2Throttles]).toBe(0);
    expect(doc?.[METRICS.driftRepairs]).toBe(0);
    expect(doc?.['service']).toBe(METRICS.enforcerService);
  });

  it('builds its dependencies once per container', async () => {
    const d = await deps();
    const build = vi.fn(() => d);
    const handler = createEnforcerHandler(build);
    await emf(async () => {
      await handler({});
      await handler({});
    });
    expect(build).toHaveBeenCalledTimes(1);
  });

  it('honours dryRun: true from the CLI, but dryRun: false never overrides configured dry-run', async () => {
    const d = await deps();
    const handler = createEnforcerHandler(() => d);
    const { result } = await emf(() =>
      handler({ source: 'cloudjail.cli', reason: 'x', dryRun: true }),
    );
    expect(result.dryRun).toBe(true);
    expect(d.acls.calls.create).toBe(0);

    const shadow = await deps(hostBans(3), {
      settings: { schedule: 'rate(1 minute)', maxMutationsPerRun: 40, dryRun: true, ruleQuota: 20 },
    });
    const shadowHandler = createEnforcerHandler(() => shadow);
    const { result: r2 } = await emf(() =>
      shadowHandler({ source: 'cloudjail.cli', dryRun: false }),
    );
    expect(r2.dryRun).toBe(true);
    expect(shadow.acls.calls.create).toBe(0);
    expect(eventRequestsDryRun('dryRun')).toBe(false);
    expect(eventRequestsDryRun(null)).toBe(false);
  });

  it('throws when every NACL failed, after reporting them', async () => {
    const d = await deps(hostBans(2), { nacls: new MemoryNetworkAcls() });
    const handler = createEnforcerHandler(() => d);
    await expect(emf(() => handler({}))).rejects.toBeInstanceOf(EnforcementFailedError);
  });

  it('fails the invocation when the store is down', async () => {
    const d = await deps();
    d.store.listBans = async () => {
      throw new Error('DynamoDB unavailable');
    };
    const handler = createEnforcerHandler(() => d);
    await expect(emf(() => handler({}))).rejects.toThrow('DynamoDB unavailable');
  });
});

describe('enforcer handler: host-tier health metrics', () => {
  afterEach(() => vi.restoreAllMocks());

  it('emits AgentsCurrent/AgentsBehind/AgentsSilent when agents are enabled', async () => {
    const d = await deps(hostBans(3), {
      agentHealth: async () => ({ current: 4, behind: 1, silent: 2, agents: [] }),
    });
    const { docs } = await emf(() => createEnforcerHandler(() => d)({ source: 'test' }));
    const last = docs.at(-1);
    expect([
      last?.[METRICS.agentsCurrent],
      last?.[METRICS.agentsBehind],
      last?.[METRICS.agentsSilent],
    ]).toEqual([4, 1, 2]);
  });

  it('still enforces and emits the NACL metrics when the heartbeats cannot be read', async () => {
    const d = await deps(hostBans(3), {
      agentHealth: async () => {
        throw new Error('AccessDenied');
      },
    });
    const { result, docs } = await emf(() => createEnforcerHandler(() => d)({ source: 'test' }));
    expect(result.activeBans).toBe(3);
    expect(docs.at(-1)?.[METRICS.agentsBehind]).toBeUndefined();
  });
});
