/**
 * The CDK app as users run it: configuration errors surface at synth, all at once (construct and
 * `bin/` entry), and the real `npx cdk synth` of the repository succeeds offline with the example
 * context, cdk-nag on, esbuild local (never Docker), and its bundles hold what the functions
 * need. This is CI's `npx cdk synth` step.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/config/env-names.js';
import { ConfigError } from '../../lambda/core/errors.js';
import {
  LAMBDA_FILTER_DIR,
  listBuiltinFilterFiles,
  PROJECT_ROOT,
  resolveCloudjailProps,
} from '../../lib/cloudjail.js';
import { configFromContext } from '../../lib/context-config.js';
import { METRICS } from '../../lib/runtime-contract.js';
import { environmentOf, exampleConfig, functionByService } from './helpers.js';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

const bad = () => {
  const config = exampleConfig();
  return {
    ...config,
    notifications: { email: 'not-an-address' },
    logGroups: { '/not/used/by/any/jail': { create: true, retentionDays: 31 } },
    bogus: true,
    jails: [
      ...(config['jails'] as unknown[]),
      { name: 'missing-file', filter: 'nowhere/missing.conf', logGroups: ['/x'] },
    ],
  };
};

describe('configuration errors surface at synth, all at once', () => {
  it('throws one ConfigError listing every problem, props included', () => {
    const problems = problemsOf(() =>
      resolveCloudjailProps({ config: bad(), configDir: PROJECT_ROOT, detectorMemoryMb: 64 }),
    ).join('\n');
    expect(problems).toMatch(/^bogus: unknown key/m);
    expect(problems).toMatch(/notifications\.email: "not-an-address" is not an e-mail address/);
    expect(problems).toMatch(/logGroups\["\/not\/used\/by\/any\/jail"\]\.retentionDays: 31/);
    expect(problems).toMatch(/logGroups\["\/not\/used\/by\/any\/jail"\]: no jail reads/);
    expect(problems).toMatch(/detectorMemoryMb: 64 is not an integer from 128 to 10240/);
    expect(problems).toMatch(/jails\[2\]\.filter: filter file "nowhere\/missing\.conf" not found/);
  });

  it('includes problems from the jail and target parsers', () => {
    const config = exampleConfig();
    (config['jails'] as Record<string, unknown>[])[0]!['findtime'] = '10x';
    config['targets'] = [{ naclId: 'not-a-nacl' }];
    const problems = problemsOf(() => resolveCloudjailProps({ config }));
    expect(problems.some((p) => p.startsWith('jails[0].findtime'))).toBe(true);
    expect(problems.some((p) => p.startsWith('targets[0]'))).toBe(true);
  });

  it('rejects an unknown filter mode and an enforcer timeout that would overlap runs', () => {
    const config = exampleConfig();
    (config['jails'] as Record<string, unknown>[])[0]!['filter'] = 'freeswitch[mode=nosuch]';
    const problems = problemsOf(() =>
      resolveCloudjailProps({ config, configDir: PROJECT_ROOT, enforcerTimeoutSeconds: 60 }),
    );
    expect(problems.some((p) => p.startsWith('jails[0].filter: '))).toBe(true);
    expect(problems).toContain(
      'enforcerTimeoutSeconds: 60 must be below the enforcement.schedule interval (60 s)',
    );
    // A longer schedule leaves room.
    const slow = exampleConfig();
    slow['enforcement'] = { schedule: 'rate(5 minutes)' };
    expect(() =>
      resolveCloudjailProps({ config: slow, configDir: PROJECT_ROOT, enforcerTimeoutSeconds: 60 }),
    ).not.toThrow();
  });

  it('makes the CDK app exit 1 with every problem on stderr (what `cdk synth` shows)', () => {
    const result = runApp({ cloudjail: bad() });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/invalid cloudjail configuration \(\d+ problems\)/);
    expect(result.stderr).toContain('bogus: unknown key');
    expect(result.stderr).toContain('notifications.email');
    expect(result.stderr).toContain('nowhere/missing.conf');
    expect(result.stderr).not.toMatch(/\n\s+at /); // a list, not a stack trace
    expect(result.files).toEqual([]);
  }, 120_000);

  it('reads a configuration given as JSON text with -c (the CLI passes strings)', () => {
    const config = exampleConfig();
    expect(configFromContext(JSON.stringify(config))).toEqual(config);
    expect(configFromContext(config)).toBe(config);
    expect(configFromContext(undefined)).toBeUndefined();
    expect(problemsOf(() => configFromContext('{"jails": ['))).toEqual([
      expect.stringMatching(/^context "cloudjail": not JSON \(/),
    ]);
    // Parsed text goes through the same validation as cdk.json.
    expect(
      problemsOf(() =>
        resolveCloudjailProps({ config: configFromContext(JSON.stringify(bad())) }),
      ).join('\n'),
    ).toMatch(/^bogus: unknown key/m);
  });
});

/** Runs bin/cloudjail.ts as the CDK CLI does (context in CDK_CONTEXT_JSON, output in CDK_OUTDIR). */
function runApp(context: Record<string, unknown>): {
  status: number | null;
  stderr: string;
  files: string[];
} {
  const outdir = mkdtempSync(join(tmpdir(), 'cloudjail-bin-'));
  try {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(PROJECT_ROOT, 'bin/cloudjail.ts')],
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
      },
    );
    return { status: result.status, stderr: result.stderr, files: readdirSync(outdir) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** True when this machine can run a command in a fresh network namespace (no network at all). */
function canIsolateNetwork(): boolean {
  return spawnSync('unshare', ['-rn', 'true']).status === 0;
}

describe('`npx cdk synth` on the repository (what a fresh clone runs)', () => {
  const work = mkdtempSync(join(tmpdir(), 'cloudjail-cli-synth-'));
  const outdir = join(work, 'cdk.out');
  const dockerLog = join(work, 'docker-called');
  const isolated = canIsolateNetwork();
  let result: SpawnSyncReturns<string>;
  let template: Template;

  beforeAll(() => {
    // A `docker` that records any call: bundling must use the local esbuild.
    const fakeBin = join(work, 'bin');
    mkdirSync(fakeBin);
    writeFileSync(join(fakeBin, 'docker'), `#!/bin/sh\necho "$@" >> '${dockerLog}'\nexit 1\n`);
    chmodSync(join(fakeBin, 'docker'), 0o755);
    // Exactly what a user types (plus a private output directory): notices and CLI telemetry are
    // off in cdk.json, the version check only runs on a terminal.
    const command = ['npx', '--no-install', 'cdk', 'synth', '--quiet', '--output', outdir];
    result = spawnSync(
      isolated ? 'unshare' : command[0]!,
      isolated ? ['-rn', ...command] : command.slice(1),
      {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        timeout: 180_000,
        // No credentials, no Region, no metadata service, unreachable proxies: synth must not
        // need any of them (inside a network namespace when available: no network at all).
        env: {
          PATH: `${fakeBin}:${process.env['PATH'] ?? ''}`,
          HOME: work,
          npm_config_cache: join(work, 'npm-cache'),
          npm_config_offline: 'true',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_CONFIG_FILE: join(work, 'no-aws-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
          HTTPS_PROXY: 'http://127.0.0.1:9',
          HTTP_PROXY: 'http://127.0.0.1:9',
        },
      },
    );
    if (result.status === 0) {
      template = Template.fromJSON(
        JSON.parse(readFileSync(join(outdir, 'Cloudjail.template.json'), 'utf8')),
      );
    }
  }, 180_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** The asset directories of the synth, by the function (service) whose package they are. */
  function packageOf(service: string): string {
    const [, fn] = functionByService(template, service);
    const hash = JSON.stringify(fn['Code']).match(/([0-9a-f]{64})\.zip/)?.[1];
    expect(hash, `${service} asset`).toBeDefined();
    return join(outdir, `asset.${hash}`);
  }

  it('succeeds offline with the example context, cdk-nag on, no Docker', () => {
    expect(result.status, `${isolated ? '(no network) ' : ''}${result.stderr}`).toBe(0);
    expect(result.stderr).not.toMatch(/AwsSolutions-|Validation failed/);
    expect(existsSync(dockerLog), 'docker was called').toBe(false);
    const types = Object.values(
      template.toJSON()['Resources'] as Record<string, { Type: string }>,
    ).map((r) => r.Type);
    for (const type of [
      'AWS::DynamoDB::GlobalTable',
      'AWS::Lambda::Function',
      'AWS::Scheduler::Schedule',
      'AWS::Logs::SubscriptionFilter',
      'AWS::SNS::Topic',
      'AWS::SQS::Queue',
      'AWS::CloudWatch::Alarm',
      'AWS::CloudWatch::Dashboard',
    ]) {
      expect(types, type).toContain(type);
    }
    expect(types.filter((t) => t === 'AWS::Lambda::Function')).toHaveLength(3);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports).toEqual([]);
  });

  it('has CLI telemetry off from cdk.json (nothing to send, even with network)', () => {
    const status = spawnSync('npx', ['--no-install', 'cdk', 'cli-telemetry', '--status'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '', HOME: work, npm_config_offline: 'true' },
    });
    expect(status.status, status.stderr).toBe(0);
    expect(`${status.stdout}${status.stderr}`).toContain('CLI Telemetry is disabled');
  }, 60_000);

  it('bundles each function with esbuild: minified ESM with the AWS SDK inside', () => {
    const services = [METRICS.detectorService, METRICS.enforcerService, METRICS.notifierService];
    const bundles = services.map((service) =>
      readFileSync(join(packageOf(service), 'index.mjs'), 'utf8'),
    );
    expect(new Set(bundles).size).toBe(3);
    for (const code of bundles) {
      // Minified: a few very long lines, not thousands of short ones.
      expect(code.split('\n').length).toBeLessThan(code.length / 1000);
      // SDK bundled: no import of it is left for the runtime to provide. (The bundle mentions
      // @aws-sdk/signature-v4-crt only in "please install" messages of SigV4a, never used.)
      expect(code).not.toMatch(/(?:^|[;\n])\s*import[^;]*from\s*["']@aws-sdk\//);
    }
    const [detector, enforcer, notifier] = bundles as [string, string, string];
    expect(detector).toContain('DynamoDB_20120810'); // DynamoDB JSON protocol target
    expect(enforcer).toContain('DynamoDB_20120810');
    expect(enforcer).toContain('2016-11-15'); // EC2 Query API version
    expect(notifier).toMatch(/Publish/);
  });

  it('ships the built-in filter files in the detector package, where its env var points', () => {
    const builtins = listBuiltinFilterFiles();
    expect(builtins.length).toBeGreaterThan(0);
    const dir = packageOf(METRICS.detectorService);
    expect(readdirSync(join(dir, 'filter.d')).sort()).toEqual(builtins);
    for (const name of builtins) {
      expect(readFileSync(join(dir, 'filter.d', name), 'utf8')).toBe(
        readFileSync(join(PROJECT_ROOT, 'filter.d', name), 'utf8'),
      );
    }
    // Lambda unpacks the package at /var/task: the package's filter.d is LAMBDA_FILTER_DIR,
    // which the detector gets as ENV.filterDir.
    expect(LAMBDA_FILTER_DIR).toBe('/var/task/filter.d');
    const [, detector] = functionByService(template, METRICS.detectorService);
    expect(environmentOf(detector)[ENV.filterDir]).toBe(LAMBDA_FILTER_DIR);
    // Only the detector carries filters.
    for (const service of [METRICS.enforcerService, METRICS.notifierService]) {
      expect(existsSync(join(packageOf(service), 'filter.d'))).toBe(false);
    }
  });

  it('runs the bundles as Lambda would: each loads, the detector builds its jails from the package', () => {
    const [, detector] = functionByService(template, METRICS.detectorService);
    const env = environmentOf(detector);
    const run = (service: string, event: unknown, extraEnv: Record<string, string>) => {
      const dir = packageOf(service);
      const script = `const m = await import(${JSON.stringify(join(dir, 'index.mjs'))});
        const out = await m.handler(${JSON.stringify(event)}, {});
        process.stdout.write('RESULT ' + JSON.stringify(out) + '\\n');`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir,
        encoding: 'utf8',
        env: {
          PATH: process.env['PATH'] ?? '',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'not-a-secret',
          AWS_EC2_METADATA_DISABLED: 'true',
          POWERTOOLS_METRICS_DISABLED: 'true',
          ...extraEnv,
        },
      });
      expect(child.status, child.stderr).toBe(0);
      const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      expect(line, child.stdout).toBeDefined();
      return JSON.parse(line!.slice('RESULT '.length)) as unknown;
    };
    // The detector: a CONTROL_MESSAGE after a cold start that loads every jail's filter from the
    // package's filter.d (the Lambda path /var/task/filter.d mapped to the asset directory).
    const control = gzipSync(
      JSON.stringify({
        messageType: 'CONTROL_MESSAGE',
        owner: 'CloudwatchLogs',
        logGroup: '',
        logStream: '',
        subscriptionFilters: [],
        logEvents: [],
      }),
    ).toString('base64');
    const filterDir = join(packageOf(METRICS.detectorService), 'filter.d');
    expect(
      run(
        METRICS.detectorService,
        { awslogs: { data: control } },
        {
          [ENV.config]: String(env[ENV.config]).replaceAll(LAMBDA_FILTER_DIR, filterDir),
          [ENV.tableName]: 'cloudjail-table',
          [ENV.enforcerFunction]: 'cloudjail-enforcer',
          [ENV.filterDir]: filterDir,
        },
      ),
    ).toEqual({ status: 'control-message' });
    // The notifier: an empty stream batch.
    expect(
      run(
        METRICS.notifierService,
        { Records: [] },
        {
          [ENV.topicArn]: 'arn:aws:sns:us-east-1:123456789012:bans',
        },
      ),
    ).toEqual({ batchItemFailures: [] });
    // The enforcer: its module loads (a run would call DynamoDB and EC2).
    const dir = packageOf(METRICS.enforcerService);
    const load = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(dir, 'index.mjs'))}); if (typeof m.handler !== 'function') process.exit(3);`,
      ],
      {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '', AWS_REGION: 'us-east-1' },
      },
    );
    expect(load.status, load.stderr).toBe(0);
  }, 60_000);
});

describe('the construct in another CDK app (cloudjail installed as a dependency)', () => {
  it('synthesizes and bundles there, with cdk-nag clean and the filters in the package', () => {
    const app = mkdtempSync(join(tmpdir(), 'cloudjail-user-app-'));
    try {
      // node_modules: this repository's dependencies, plus cloudjail as npm would install it
      // (its sources, no lock file).
      const modules = join(app, 'node_modules');
      mkdirSync(join(modules, 'cloudjail'), { recursive: true });
      for (const name of readdirSync(join(PROJECT_ROOT, 'node_modules'))) {
        symlinkSync(join(PROJECT_ROOT, 'node_modules', name), join(modules, name));
      }
      for (const part of ['lib', 'lambda', 'agent', 'cli', 'filter.d', 'package.json']) {
        cpSync(join(PROJECT_ROOT, part), join(modules, 'cloudjail', part), { recursive: true });
      }
      writeFileSync(join(app, 'package.json'), '{ "name": "user-app", "type": "module" }\n');
      writeFileSync(
        join(app, 'package-lock.json'),
        '{ "name": "user-app", "lockfileVersion": 3 }\n',
      );
      writeFileSync(
        join(app, 'app.ts'),
        `import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Cloudjail } from 'cloudjail/lib/cloudjail.js';
const app = new App({ outdir: 'cdk.out' });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const stack = new Stack(app, 'UserStack');
new Cloudjail(stack, 'Jail', {
  config: {
    jails: [{ name: 'fs', filter: 'freeswitch', logGroups: ['/user/fs'], maxretry: 5, findtime: '10m', bantime: '1h' }],
    targets: [{ naclId: 'acl-0123456789abcdef0', ipv4Band: [1, 18], ipv6Band: [19, 36] }],
  },
});
app.synth();
`,
      );
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'app.ts'], {
        cwd: app,
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '', HOME: app },
      });
      expect(result.status, result.stderr).toBe(0);
      const out = join(app, 'cdk.out');
      expect(JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8'))).toMatchObject({
        pluginReports: [],
      });
      const packages = readdirSync(out).filter((d) => d.startsWith('asset.'));
      expect(packages).toHaveLength(3);
      const withFilters = packages.filter((d) => existsSync(join(out, d, 'filter.d')));
      expect(withFilters).toHaveLength(1);
      expect(readdirSync(join(out, withFilters[0]!, 'filter.d')).sort()).toEqual(
        listBuiltinFilterFiles(),
      );
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 300_000); // three esbuild bundles (the enforcer's with the S3 client) on a loaded box
});
