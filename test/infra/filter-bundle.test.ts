/**
 * User filter files in the detector package: a stack variant with a user `.conf` (that includes a
 * file of its own and a built-in, and has a `.local` companion), bundled for real; the filter
 * loaded from the bundle exactly as the detector does. Plus the planning rules (what is shipped,
 * what is refused) on their own.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/config/env-names.js';
import { jailsFromConfig } from '../../lambda/handlers/detector.js';
import {
  LAMBDA_FILTER_DIR,
  listBuiltinFilterFiles,
  PROJECT_ROOT,
  resolveCloudjailProps,
} from '../../lib/cloudjail.js';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { planFilterBundle } from '../../lib/filter-bundle.js';
import { METRICS } from '../../lib/runtime-contract.js';
import {
  actionsOf,
  cleanupApps,
  environmentOf,
  exampleConfig,
  functionByService,
  policyStatements,
  type Resources,
  resourcesOf,
  roleOf,
  testApp,
} from './helpers.js';

const BUILTIN_DIR = join(PROJECT_ROOT, 'filter.d');

/**
 * A user filter directory: my-sbc.conf includes my-common.conf and the built-in asterisk.conf, and
 * has a `.local` companion and a `.d/` directory.
 */
function writeUserFilters(dir: string): void {
  writeFileSync(join(dir, 'my-common.conf'), '[Definition]\n_sbc = mysbc\n');
  writeFileSync(
    join(dir, 'my-sbc.conf'),
    [
      '[INCLUDES]',
      'before = my-common.conf',
      '         asterisk.conf',
      '',
      '[Definition]',
      'prefregex =',
      'cloudjail_preprocess =',
      // _sbc from the user's include, _notice from the built-in asterisk.conf.
      'failregex = ^%(_sbc)s: auth failed from <HOST>$',
      '            %(_notice)s custom\\.c: bad password from <HOST>$',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'my-sbc.local'), '[Definition]\nignoreregex = from 192\\.0\\.2\\.99$\n');
  // A `.d` directory: read after the .conf, so its _sbc wins over my-common.conf's.
  mkdirSync(join(dir, 'my-sbc.d'));
  writeFileSync(join(dir, 'my-sbc.d', 'daemon.conf'), '[Definition]\n_sbc = mysbc2\n');
  // Present in the directory but read by no filter: must not be shipped.
  writeFileSync(join(dir, 'unrelated.conf'), '[Definition]\nfailregex = ^x <HOST>$\n');
}

describe('stack variant: user filter, shared log group, two NACLs, no e-mail (bundled)', () => {
  let template: Template;
  let outdir: string;
  const dir = mkdtempSync(join(tmpdir(), 'cloudjail-conf-'));
  const base = exampleConfig();
  const baseJails = base['jails'] as Record<string, unknown>[];
  const shared = (baseJails[0]!['logGroups'] as string[])[0]!;

  beforeAll(() => {
    writeUserFilters(dir);
    const targets = base['targets'] as Record<string, unknown>[];
    const config = {
      ...base,
      notifications: {},
      jails: [
        ...baseJails,
        { ...baseJails[0], name: 'custom', filter: 'my-sbc.conf', logGroups: [shared] },
      ],
      targets: [
        ...targets,
        JSON.parse(JSON.stringify(targets[0]).replace(/acl-[0-9a-f]+/, 'acl-0fedcba9876543210')),
      ],
    };
    const app = testApp(true);
    const stack = new CloudjailStack(app, 'Variant', {
      config,
      configDir: dir,
      deletionProtection: false,
    });
    outdir = app.synth().directory;
    template = Template.fromStack(stack);
  }, 120_000);
  afterAll(() => {
    cleanupApps();
    rmSync(dir, { recursive: true, force: true });
  });

  function detectorPackage(): string {
    const [, detector] = functionByService(template, METRICS.detectorService);
    const hash = JSON.stringify(detector['Code']).match(/([0-9a-f]{64})\.zip/)?.[1];
    expect(hash).toBeDefined();
    return join(outdir, `asset.${hash}`);
  }

  it('keeps one subscription filter for a group read by two jails, without pre-selection', () => {
    const groups = new Set(baseJails.flatMap((j) => j['logGroups'] as string[]));
    const filters = Object.values(
      template.findResources('AWS::Logs::SubscriptionFilter') as Resources,
    );
    expect(filters).toHaveLength(groups.size);
    const withCustom = filters.filter((f) => String(f.Properties['FilterName']).includes('custom'));
    expect(withCustom).toHaveLength(1);
    // A user .conf has no known safe pattern: every line of that group goes to the detector.
    expect(withCustom[0]!.Properties['FilterPattern']).toBe('');
    const others = filters.filter((f) => !String(f.Properties['FilterName']).includes('custom'));
    for (const f of others) expect(f.Properties['FilterPattern']).not.toBe('');
  });

  it('ships exactly the user files the filter reads, beside the built-ins', () => {
    const dir = join(detectorPackage(), 'filter.d');
    const shipped = readdirSync(dir).sort();
    expect(shipped).toEqual(
      [
        ...listBuiltinFilterFiles(),
        'my-common.conf',
        'my-sbc.conf',
        'my-sbc.d',
        'my-sbc.local',
      ].sort(),
    );
    expect(readdirSync(join(dir, 'my-sbc.d'))).toEqual(['daemon.conf']);
  });

  it('points the jail at the bundled file; the detector loads it from the package', () => {
    const [, detector] = functionByService(template, METRICS.detectorService);
    const env = environmentOf(detector);
    const json = String(env[ENV.config]);
    const jails = JSON.parse(json).jails as { name: string; filter: string }[];
    expect(jails.find((j) => j.name === 'custom')?.filter).toBe(`${LAMBDA_FILTER_DIR}/my-sbc.conf`);
    // The package is mounted at /var/task in Lambda; here it sits in the cdk.out asset directory.
    const filterDir = join(detectorPackage(), 'filter.d');
    const local = json.replaceAll(LAMBDA_FILTER_DIR, filterDir);
    const { jails: runtime } = jailsFromConfig(local, filterDir);
    const custom = runtime.find((j) => j.config.name === 'custom')!;
    const matcher = custom.createMatcher();
    const hosts = (line: string) =>
      matcher.matchEvent(line, { now: 0 }).flatMap((o) => o.failures.map((f) => f.host));
    expect(hosts('mysbc2: auth failed from 203.0.113.5')).toEqual(['203.0.113.5']);
    // my-sbc.d/daemon.conf overrides my-common.conf's daemon name.
    expect(hosts('mysbc: auth failed from 203.0.113.5')).toEqual([]);
    expect(hosts('NOTICE[123] custom.c: bad password from 2001:db8::5')).toEqual(['2001:db8::5']);
    // The .local companion's ignoreregex applies in the package too.
    expect(hosts('mysbc2: auth failed from 192.0.2.99')).toEqual([]);
    // The built-in jails load from the same directory.
    expect(runtime.map((j) => j.config.name).sort()).toEqual(
      [...baseJails.map((j) => String(j['name'])), 'custom'].sort(),
    );
  });

  it('honours deletionProtection: false, has no e-mail subscription, scopes both NACLs', () => {
    const tables = Object.values(template.findResources('AWS::DynamoDB::GlobalTable') as Resources);
    expect(tables[0]!.Properties['Replicas']).toEqual([
      expect.objectContaining({ DeletionProtectionEnabled: false }),
    ]);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    const [, enforcer] = functionByService(template, METRICS.enforcerService);
    const mutate = policyStatements(template, roleOf(enforcer)).find((s) =>
      actionsOf(s).includes('ec2:CreateNetworkAclEntry'),
    )!;
    const resources = resourcesOf(mutate).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(2);
    expect(resources[0]).toContain('network-acl/acl-0123456789abcdef0');
    expect(resources[1]).toContain('network-acl/acl-0fedcba9876543210');
  });
});

describe('planning the filter directory', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'cloudjail-plan-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('compiles the built-in filters as the detector will, and ships nothing extra for them', () => {
    const { bundle, plans } = planFilterBundle(
      ['freeswitch[mode=extra]', 'asterisk'],
      LAMBDA_FILTER_DIR,
      BUILTIN_DIR,
      PROJECT_ROOT,
    );
    expect(bundle.problems).toEqual([]);
    expect(bundle.userFiles.size).toBe(0);
    expect(plans.map((p) => p?.lambdaSpec)).toEqual(['freeswitch[mode=extra]', 'asterisk']);
  });

  it('reports a broken user regex with the file and line, at synth', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'broken.conf'),
      '[Definition]\nfailregex = ^ok from <HOST>$\n            ^bad (unclosed <HOST>$\n',
    );
    const config = exampleConfig();
    (config['jails'] as Record<string, unknown>[]).push({
      ...(config['jails'] as Record<string, unknown>[])[0],
      name: 'broken',
      filter: 'broken.conf',
    });
    expect(() => resolveCloudjailProps({ config, configDir: dir })).toThrow(
      new RegExp(`jails\\[2\\]\\.filter: ${join(dir, 'broken.conf')}.*failregex line 2`),
    );
  });

  it('refuses a regex that can take exponential time, with the file and line, at synth', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'slow.conf'),
      '[Definition]\nfailregex = ^ok from <HOST>$\n            ^(?:\\w+\\s?)+(?<!x) from <HOST>$\n',
    );
    const config = exampleConfig();
    (config['jails'] as Record<string, unknown>[]).push({
      ...(config['jails'] as Record<string, unknown>[])[0],
      name: 'slow',
      filter: 'slow.conf',
    });
    expect(() => resolveCloudjailProps({ config, configDir: dir })).toThrow(
      new RegExp(
        `jails\\[2\\]\\.filter: ${join(dir, 'slow.conf')}.*failregex line 2: .*exponential`,
      ),
    );
  });

  it('reports an unknown built-in filter and an include outside the package', () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    writeFileSync(join(elsewhere, 'shared.conf'), '[Definition]\n_x = y\n');
    writeFileSync(
      join(dir, 'abs.conf'),
      `[INCLUDES]\nbefore = ${join(elsewhere, 'shared.conf')}\n[Definition]\nfailregex = ^f <HOST>$\n`,
    );
    const { bundle } = planFilterBundle(
      ['kamailio', join(dir, 'abs.conf')],
      LAMBDA_FILTER_DIR,
      BUILTIN_DIR,
      dir,
    );
    expect(bundle.problems).toHaveLength(2);
    expect(bundle.problems[0]).toMatch(/^jails\[0\]\.filter: unknown filter 'kamailio'/);
    expect(bundle.problems[1]).toMatch(
      /^jails\[1\]\.filter: includes .*shared\.conf, outside the filter's directory/,
    );
  });

  it('refuses user files that would replace or extend a built-in filter', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'asterisk.conf'), '[Definition]\nfailregex = ^f <HOST>$\n');
    mkdirSync(join(dir, 'other'));
    writeFileSync(
      join(dir, 'other', 'mine.conf'),
      '[INCLUDES]\nbefore = freeswitch.local\n[Definition]\nfailregex = ^f <HOST>$\n',
    );
    writeFileSync(join(dir, 'other', 'freeswitch.local'), '[Definition]\n_z = 1\n');
    const { bundle } = planFilterBundle(
      ['asterisk.conf', 'other/mine.conf'],
      LAMBDA_FILTER_DIR,
      BUILTIN_DIR,
      dir,
    );
    expect(bundle.problems.join('\n')).toMatch(
      /jails\[0\]\.filter: .*asterisk\.conf would be shipped as filter\.d\/asterisk\.conf and change the built-in "asterisk" filter/,
    );
    expect(bundle.problems.join('\n')).toMatch(
      /jails\[1\]\.filter: .*freeswitch\.local would be shipped as filter\.d\/freeswitch\.local/,
    );
  });

  it('refuses two different files that would land on the same name', () => {
    const a = tempDir();
    const b = tempDir();
    for (const d of [a, b]) {
      writeFileSync(join(d, 'sbc.conf'), `[Definition]\nfailregex = ^${d.length} <HOST>$\n`);
    }
    const { bundle } = planFilterBundle(
      [join(a, 'sbc.conf'), join(b, 'sbc.conf'), join(a, 'sbc.conf')],
      LAMBDA_FILTER_DIR,
      BUILTIN_DIR,
      a,
    );
    expect(bundle.problems).toEqual([
      `jails[1].filter: ${join(b, 'sbc.conf')} and ${join(a, 'sbc.conf')} would both be shipped as filter.d/sbc.conf; rename one`,
    ]);
  });

  it.skipIf(!existsSync('/etc/fail2ban/filter.d/sshd.conf'))(
    'ships a stock fail2ban filter with its includes (sshd.conf + common.conf)',
    () => {
      const { bundle, plans } = planFilterBundle(
        ['/etc/fail2ban/filter.d/sshd.conf[mode=aggressive]'],
        LAMBDA_FILTER_DIR,
        BUILTIN_DIR,
        PROJECT_ROOT,
      );
      expect(bundle.problems).toEqual([]);
      expect([...bundle.userFiles.keys()]).toEqual(
        expect.arrayContaining(['sshd.conf', 'common.conf']),
      );
      for (const [relative, local] of bundle.userFiles) {
        expect(local).toBe(join('/etc/fail2ban/filter.d', relative));
      }
      expect(plans[0]?.lambdaSpec).toBe(`${LAMBDA_FILTER_DIR}/sshd.conf[mode=aggressive]`);
    },
  );
});
