/**
 * `cloudjail import` as users run it (spawned CLI), and what its output is for: the imported
 * document synthesizes (`cdk synth -c cloudjail=<json>`: the CDK app with the context as JSON
 * text) and replays (`cloudjail replay --config <imported.json>`), the `.local` extension of the
 * built-in freeswitch filter included.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAMBDA_FILTER_DIR, PROJECT_ROOT, resolveCloudjailProps } from '../../lib/cloudjail.js';
import { patternMatches } from '../../lib/filter-patterns.js';
import { cloudjail, lastJson, tempDir } from './cli-process.js';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/fail2ban-configs');
const tmp = tempDir('import');

interface ImportJson {
  config: Record<string, unknown> & { jails: Record<string, unknown>[] };
  agentConfig: { logs: { logs_collected: { files: { collect_list: Record<string, unknown>[] } } } };
  report: { jail: string; key: string; status: string; file?: string; line?: number }[];
}

async function importJson(fixture: string, extra: string[] = []): Promise<ImportJson> {
  const r = await cloudjail(['import', join(FIXTURES, fixture), '--json', ...extra]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return lastJson(r) as ImportJson;
}

const fsFailure = (time: string, ip: string) =>
  `2024-11-05 ${time}.000100 98.10% [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'external' for [100@198.51.100.5] from ip ${ip}`;
/** A line of the fixture's intrusion.csv: the server-written address first, caller text after. */
const cdr = (ip: string, caller: string) =>
  `"FAIL2BAN_HOST=${ip}","2024-11-05 10:00:01","${caller}"`;

describe('cloudjail import', () => {
  it('prints the document, the agent configuration and the report; writes nothing without --out', async () => {
    const before = readdirSync(join(FIXTURES, 'freeswitch-ufw')).sort();
    const r = await cloudjail(['import', join(FIXTURES, 'freeswitch-ufw')], tmp);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# cloudjail configuration');
    expect(r.stdout).toContain('# CloudWatch agent configuration');
    expect(r.stdout).toMatch(/^approximated +\[freeswitch\] filter: .*jail\.local:4\)$/m);
    expect(r.stdout).toMatch(/^mapped +\[freeswitch\] maxretry: 5 \(.*jail\.local:6\)$/m);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(join(FIXTURES, 'freeswitch-ufw')).sort()).toEqual(before);
  });

  it('--out writes the document and FILE.agent.json; the agent ships each logpath to its group', async () => {
    const out = join(tmp, 'imported.json');
    const r = await cloudjail(['import', join(FIXTURES, 'freeswitch-cdr'), '--out', out]);
    expect(r.code).toBe(0);
    const config = JSON.parse(readFileSync(out, 'utf8')) as ImportJson['config'];
    const agent = JSON.parse(readFileSync(join(tmp, 'imported.agent.json'), 'utf8'));
    expect(config.jails[0]?.['logGroups']).toEqual([
      '/cloudjail/var/log/freeswitch/freeswitch.log',
      '/cloudjail/var/log/freeswitch/cdr-csv/intrusion.csv',
    ]);
    expect(agent.logs.logs_collected.files.collect_list).toEqual([
      expect.objectContaining({
        file_path: '/var/log/freeswitch/freeswitch.log',
        log_group_name: '/cloudjail/var/log/freeswitch/freeswitch.log',
        timestamp_format: '%Y-%m-%d %H:%M:%S.%f',
      }),
      {
        file_path: '/var/log/freeswitch/cdr-csv/intrusion.csv',
        log_group_name: '/cloudjail/var/log/freeswitch/cdr-csv/intrusion.csv',
        log_stream_name: '{instance_id}',
        timezone: 'UTC',
      },
    ]);
  });

  it('bad input: not a directory, no jail files, unknown --jail (exit 2, one line)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cloudjail-import-empty-'));
    try {
      for (const [args, message] of [
        [['import', join(tmp, 'nowhere')], /not a directory/],
        [['import', empty], /no jail\.conf or jail\.local in/],
        [['import', join(FIXTURES, 'blacklist'), '--jail', 'sshd'], /no jail \[sshd\]/],
        [['import', join(FIXTURES, 'blacklist'), '--nacl', 'acl-x'], /--nacl: "acl-x" is not/],
      ] as const) {
        const r = await cloudjail(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toMatch(message);
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('replays: the .local extension bans from the CDR line, by the server-written address only', async () => {
    const imported = await importJson('freeswitch-cdr');
    const configFile = join(tmp, 'cdr.json');
    writeFileSync(configFile, JSON.stringify(imported.config));
    const log = join(tmp, 'cdr.log');
    writeFileSync(
      log,
      `${[
        fsFailure('10:00:00', '203.0.113.20'),
        // 5 CDR lines (maxretry 4) whose caller field carries a fake copy of the field.
        ...Array.from({ length: 5 }, () => cdr('198.51.100.31', '"FAIL2BAN_HOST=203.0.113.99"')),
        // The allowlisted LAN (10.0.0.0/16) never counts.
        ...Array.from({ length: 5 }, () => cdr('10.0.3.4', '1001')),
      ].join('\n')}\n`,
    );
    const r = await cloudjail(['replay', log, '--config', configFile, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lastJson(r) as { banned: string[]; nacl: { cidr: string }[] };
    expect(out.banned).toEqual(['198.51.100.31']);
    // deny: 5060 over tcp and udp, one NACL entry each.
    expect(out.nacl.map((e) => e.cidr)).toEqual(['198.51.100.31/32', '198.51.100.31/32']);
  }, 60_000);

  it('synthesizes: the extension ships beside the built-ins; its pattern keeps every CDR line', async () => {
    const imported = await importJson('freeswitch-cdr');
    const props = resolveCloudjailProps({ config: imported.config, configDir: tmp });
    expect([...props.userFilterFiles.keys()]).toEqual(['extend-0/freeswitch.local']);
    expect(props.configJson).toContain(
      `${LAMBDA_FILTER_DIR}/extend-0/freeswitch.local[mode=normal]`,
    );

    // `cdk synth -c cloudjail=<json>`: the app gets the context as JSON text.
    const outdir = mkdtempSync(join(tmpdir(), 'cloudjail-import-synth-'));
    try {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(PROJECT_ROOT, 'bin/cloudjail.ts')],
        {
          cwd: PROJECT_ROOT,
          encoding: 'utf8',
          timeout: 120_000,
          env: {
            ...process.env,
            CDK_OUTDIR: outdir,
            CDK_CONTEXT_JSON: JSON.stringify({
              cloudjail: JSON.stringify(imported.config),
              'aws:cdk:bundling-stacks': [],
            }),
          },
        },
      );
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const template = JSON.parse(readFileSync(join(outdir, 'Cloudjail.template.json'), 'utf8'));
      const filters = Object.values(
        template.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
      ).filter((r) => r.Type === 'AWS::Logs::SubscriptionFilter');
      expect(filters).toHaveLength(2);
      for (const f of filters) {
        const pattern = f.Properties['FilterPattern'] as string;
        // The built-in's words plus one proven from the regex the .local adds.
        expect(pattern).toBe('%sofia|registration|FAIL%');
        expect(patternMatches(pattern, cdr('198.51.100.31', '1001')), pattern).toBe(true);
        expect(patternMatches(pattern, fsFailure('10:00:00', '203.0.113.20')), pattern).toBe(true);
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 150_000);

  it('replays each imported jail on the sample logs: attackers banned, exit 0', async () => {
    // recidive's asterisk jail has maxretry 10: twelve wrong passwords from one address.
    const twelve = join(tmp, 'asterisk-12.log');
    writeFileSync(
      twelve,
      Array.from(
        { length: 12 },
        (_, i) =>
          `[2024-11-05 10:00:${String(10 + i)}] NOTICE[2150] chan_sip.c: Registration from '<sip:4120@pbx.example.net>' failed for '203.0.113.180:5060' - Wrong password\n`,
      ).join(''),
    );
    for (const [fixture, sample] of [
      ['freeswitch-ufw', 'samples/freeswitch.log'],
      ['asterisk-iptables', 'samples/asterisk.log'],
      ['recidive', twelve],
    ] as const) {
      const { config } = await importJson(fixture, ['--nacl', 'acl-0c10d0a1b2c3d4e5f']);
      const file = join(tmp, `${fixture}.json`);
      writeFileSync(file, JSON.stringify(config));
      const r = await cloudjail(['replay', sample, '--config', file, '--json']);
      expect(r.stderr, fixture).toBe('');
      expect(r.code, fixture).toBe(0);
      const out = lastJson(r) as { banned: string[]; nacl: unknown[]; notEnforced: number };
      expect(out.banned.length, fixture).toBeGreaterThan(0);
      expect(out.nacl.length, fixture).toBeGreaterThan(0);
    }
  }, 120_000);

  it("synthesizes and validates every fixture configuration (and Debian's when installed)", async () => {
    const dirs = ['freeswitch-ufw', 'asterisk-iptables', 'blacklist', 'recidive'];
    for (const name of dirs) {
      const { config } = await importJson(name);
      expect(() => resolveCloudjailProps({ config, configDir: tmp }), name).not.toThrow();
    }
    if (existsSync('/etc/fail2ban/jail.conf')) {
      const r = await cloudjail(['import', '/etc/fail2ban', '--json']);
      const { config } = lastJson(r) as ImportJson;
      const props = resolveCloudjailProps({ config, configDir: tmp });
      // fail2ban's own sshd filter and the common.conf it includes ship with the detector.
      expect([...props.userFilterFiles.keys()].sort()).toEqual(['common.conf', 'sshd.conf']);
    }
  }, 60_000);
});
