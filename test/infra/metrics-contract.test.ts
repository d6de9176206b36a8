/**
 * The alarms and the dashboard query metrics the handlers really publish: the enforcer and the
 * detector run on in-memory adapters, their EMF output is captured, and every custom-namespace
 * alarm of the (unbundled) template must match a published metric by namespace, name and the
 * exact dimension set (CloudWatch matches dimensions exactly: one extra dimension and the alarm
 * would watch nothing, forever "OK").
 */
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BUILTIN_FILTER_DIR } from '../../lambda/adapters/filter-files.js';
import { MemoryBanListPublisher } from '../../lambda/adapters/memory-ban-list-publisher.js';
import { MemoryBanStore } from '../../lambda/adapters/memory-ban-store.js';
import {
  defaultDenyEntries,
  MemoryNetworkAcls,
} from '../../lambda/adapters/memory-network-acls.js';
import { ENFORCEMENT_DEFAULTS } from '../../lambda/config/target-config.js';
import { createDetectorHandler, jailsFromConfig } from '../../lambda/handlers/detector.js';
import { createEnforcerHandler } from '../../lambda/handlers/enforcer.js';
import { RecordingEnforcementTrigger } from '../../lambda/ports/enforcement-trigger.js';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { METRICS } from '../../lib/runtime-contract.js';
import { subscriptionEvent } from '../helpers/subscription-payload.js';
import { cleanupApps, exampleConfig, type Resources, testApp } from './helpers.js';

interface EmfDoc {
  readonly _aws: {
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/** EMF documents written to stdout while `fn` runs. */
async function captureEmf(fn: () => Promise<unknown>): Promise<EmfDoc[]> {
  const docs: EmfDoc[] = [];
  const capture = (chunk: unknown) => {
    for (const line of String(chunk).split('\n')) {
      if (line.includes('"_aws"')) docs.push(JSON.parse(line) as EmfDoc);
    }
  };
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    capture(chunk);
    return true;
  });
  vi.spyOn(console, 'log').mockImplementation((...args) => capture(args.join(' ')));
  vi.spyOn(console, 'info').mockImplementation(() => {});
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  try {
    await fn();
  } finally {
    vi.restoreAllMocks();
  }
  return docs;
}

/** Published metrics as `namespace|name|dim=value,...` (dimension names sorted). */
function published(docs: readonly EmfDoc[]): Set<string> {
  const out = new Set<string>();
  for (const doc of docs) {
    for (const directive of doc._aws.CloudWatchMetrics) {
      for (const set of directive.Dimensions) {
        const dims = [...set]
          .sort()
          .map((d) => `${d}=${String(doc[d])}`)
          .join(',');
        for (const m of directive.Metrics) out.add(`${directive.Namespace}|${m.Name}|${dims}`);
      }
    }
  }
  return out;
}

const T0 = Date.UTC(2024, 3, 9, 17, 6, 0);
const ACL = 'acl-0123456789abcdef0';

describe('alarms and dashboard query the metrics the handlers publish', () => {
  let template: Template;
  const config = exampleConfig();

  beforeAll(() => {
    const app = testApp(false);
    template = Template.fromStack(new CloudjailStack(app, 'Metrics', { config }));
  }, 120_000);
  afterAll(cleanupApps);
  afterEach(() => vi.restoreAllMocks());

  it('every custom-namespace alarm watches a metric the enforcer publishes', async () => {
    const store = new MemoryBanStore();
    // More bans than the 18-slot band: BansNotEnforced is published with a non-zero value.
    for (let i = 1; i <= 20; i++) {
      await store.putBan(
        {
          jail: 'freeswitch',
          cidr: `198.51.100.${i}/32`,
          createdAt: T0,
          expiresAt: T0 + 3_600_000,
          source: 'detector',
          failures: 5,
          banCount: 1,
        },
        T0,
        undefined,
      );
    }
    const nacls = new MemoryNetworkAcls({
      acls: [
        {
          naclId: ACL,
          entries: [
            {
              ruleNumber: 100,
              egress: false,
              ruleAction: 'allow',
              protocol: '-1',
              cidr: '0.0.0.0/0',
            },
            ...defaultDenyEntries(),
          ],
        },
      ],
    });
    const handler = createEnforcerHandler(() => ({
      store,
      nacls,
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
      // The host tier too: BansNotEnforced{Tier=hosts} is published (non-zero: it fails).
      publisher: Object.assign(new MemoryBanListPublisher(), { failWith: new Error('down') }),
    }));
    const docs = await captureEmf(() => handler({ source: 'cloudjail.schedule' }));
    const metrics = published(docs);
    for (const tier of [METRICS.naclTier, METRICS.hostsTier]) {
      expect(
        docs.some(
          (d) => d[METRICS.tierDimension] === tier && Number(d[METRICS.bansNotEnforced]) > 0,
        ),
        tier,
      ).toBe(true);
    }

    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Resources)
      .map((a) => a.Properties)
      .filter((p) => p['Namespace'] === METRICS.namespace);
    expect(alarms.map((p) => p['MetricName']).sort()).toEqual(
      [METRICS.bansNotEnforced, METRICS.bansNotEnforced, METRICS.ec2Throttles].sort(),
    );
    for (const alarm of alarms) {
      const dims = (alarm['Dimensions'] as { Name: string; Value: string }[])
        .map((d) => `${d.Name}=${d.Value}`)
        .sort()
        .join(',');
      const key = `${alarm['Namespace']}|${alarm['MetricName']}|${dims}`;
      expect(metrics, key).toContain(key);
    }
  });

  it("the dashboard's BansCreated search matches the detector's dimension set", async () => {
    const store = new MemoryBanStore();
    const trigger = new RecordingEnforcementTrigger();
    const { jails, ignoreip } = jailsFromConfig(JSON.stringify(config), BUILTIN_FILTER_DIR);
    const handler = createDetectorHandler(() => ({
      store,
      trigger,
      jails,
      ignoreip,
      now: () => T0,
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    }));
    const group = (config['jails'] as { logGroups: string[] }[])[0]!.logGroups[0]!;
    const events = Array.from({ length: 6 }, (_, i) => ({
      id: `3795${String(i).padStart(52, '0')}`,
      timestamp: T0 - 30_000 + i * 1000,
      message: `2024-04-09 17:05:${String(30 + i).padStart(2, '0')}.918273 97.44% [WARNING] sofia_reg.c:1788 SIP auth failure (INVITE) on sofia profile 'external' for [0049305550100@198.51.100.50] from ip 192.0.2.151`,
    }));
    const docs = await captureEmf(() => handler(subscriptionEvent({ logGroup: group, events })));
    expect(trigger.reasons.length, 'the batch produced a ban').toBeGreaterThan(0);
    const bansCreated = docs.flatMap((d) =>
      d._aws.CloudWatchMetrics.filter((c) =>
        c.Metrics.some((m) => m.Name === METRICS.bansCreated),
      ).map((c) => ({ namespace: c.Namespace, dimensions: c.Dimensions, doc: d })),
    );
    expect(bansCreated).toHaveLength(1);
    const [created] = bansCreated;
    expect(created!.doc['service']).toBe(METRICS.detectorService);

    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard') as Resources)[0]!
        .Properties['DashboardBody'],
    );
    const search = /SEARCH\('\{([^}]+)\} MetricName=\\+"([A-Za-z]+)\\+"/.exec(body);
    expect(search, 'a SEARCH expression on the dashboard').not.toBeNull();
    const [namespace, ...dimensions] = search![1]!.split(',');
    expect(search![2]).toBe(METRICS.bansCreated);
    expect(namespace).toBe(created!.namespace);
    expect(created!.dimensions.map((set) => [...set].sort())).toContainEqual(
      [...dimensions].sort(),
    );
  });
});
