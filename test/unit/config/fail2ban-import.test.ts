/**
 * `cloudjail import` mapping (lambda/core/config/fail2ban-import.ts) on the operator
 * configurations (test/fixtures/fail2ban-configs/) and on Debian's own /etc/fail2ban. Every
 * imported document must pass the configuration parser the stack and the Lambdas use.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFilterFiles } from '../../../lambda/adapters/filter-files.js';
import { parseCloudjailConfig } from '../../../lambda/config/cloudjail-config.js';
import {
  type ImportResult,
  importFail2banConfig,
  splitSpec,
} from '../../../lambda/core/config/fail2ban-import.js';
import { PROJECT_ROOT } from '../../../lib/cloudjail.js';

const FIXTURES = join(PROJECT_ROOT, 'test/fixtures/fail2ban-configs');
const BUILTINS = ['freeswitch', 'asterisk'];

function load(name: string, jails?: string[]): ImportResult {
  return importFail2banConfig({
    dir: name.startsWith('/') ? name : join(FIXTURES, name),
    files: nodeFilterFiles,
    builtinFilters: BUILTINS,
    ...(jails ? { jails } : {}),
  });
}

function jailsOf(r: ImportResult): Record<string, unknown>[] {
  return r.config['jails'] as Record<string, unknown>[];
}

function line(r: ImportResult, jail: string, key: string) {
  return r.report.filter((l) => l.jail === jail && l.key === key);
}

/** Every imported document is valid as it is (placeholder NACL included). */
function expectValid(r: ImportResult): void {
  const parsed = parseCloudjailConfig(r.config);
  expect(parsed.problems).toEqual([]);
}

describe('cloudjail import: the operator configurations of issue 14', () => {
  it('freeswitch + ufw: filter params, counting, bantime, ignoreip, ufw denies all, one log group', () => {
    const r = load('freeswitch-ufw');
    expectValid(r);
    expect(jailsOf(r)).toEqual([
      {
        name: 'freeswitch',
        filter: 'freeswitch[mode=normal]',
        maxretry: 5,
        findtime: '3600',
        bantime: '259200',
        ignoreip: ['127.0.0.1/32'],
        deny: 'all',
        logGroups: ['/cloudjail/usr/local/freeswitch/log/freeswitch.log'],
      },
    ]);
    const filter = line(r, 'freeswitch', 'filter')[0];
    expect(filter?.status).toBe('approximated');
    expect(filter?.detail).toMatch(/_pref_line=.* dropped \(the built-in reads the idle-CPU field/);
    expect(filter?.file).toMatch(/freeswitch-ufw\/jail\.local$/);
    expect(filter?.line).toBe(4);
    expect(line(r, 'freeswitch', 'action')[0]?.detail).toMatch(/^ufw: a ban denies all traffic/);
    expect(line(r, 'freeswitch', 'banaction')[0]).toMatchObject({ status: 'mapped', line: 5 });
    expect(r.logFiles).toEqual([
      expect.objectContaining({
        file: '/usr/local/freeswitch/log/freeswitch.log',
        logGroup: '/cloudjail/usr/local/freeswitch/log/freeswitch.log',
        format: 'freeswitch',
      }),
    ]);
  });

  it('freeswitch + CDR: inline comment, two-line -tcp/-udp action, two logpaths, the .local extension', () => {
    const r = load('freeswitch-cdr');
    expectValid(r);
    const [jail] = jailsOf(r);
    expect(jail).toMatchObject({
      name: 'freeswitch',
      filter: `${FIXTURES}/freeswitch-cdr/filter.d/freeswitch.local[mode=normal]`,
      maxretry: 4,
      findtime: '3600',
      bantime: '1200',
      ignoreip: ['127.0.0.0/8', '10.0.0.0/16'],
      deny: { ports: '5060', protocols: ['tcp', 'udp'] },
      logGroups: [
        '/cloudjail/var/log/freeswitch/freeswitch.log',
        '/cloudjail/var/log/freeswitch/cdr-csv/intrusion.csv',
      ],
    });
    expect(line(r, 'freeswitch', 'filter')[0]?.detail).toMatch(/extended by .*freeswitch\.local/);
    expect(line(r, 'freeswitch', 'action').map((l) => l.detail)).toEqual([
      expect.stringMatching(/ports 5060\/tcp/),
      expect.stringMatching(/ports 5060\/udp/),
    ]);
    expect(line(r, 'freeswitch', 'logpath')[0]?.detail).toMatch(
      /intrusion\.csv: no built-in log format, one line per event/,
    );
    // The CSV file is shipped line by line, the FreeSWITCH log in its own format.
    expect(r.logFiles.map((f) => [f.file, f.format])).toEqual([
      ['/var/log/freeswitch/freeswitch.log', 'freeswitch'],
      ['/var/log/freeswitch/cdr-csv/intrusion.csv', undefined],
    ]);
  });

  it('asterisk-iptables: allports denies all; sendmail-whois to "root" is reported, not guessed', () => {
    const r = load('asterisk-iptables');
    expectValid(r);
    expect(jailsOf(r)).toEqual([
      expect.objectContaining({
        name: 'asterisk-iptables',
        filter: 'asterisk',
        maxretry: 5,
        findtime: '600',
        bantime: '259200',
        deny: 'all',
        logGroups: ['/cloudjail/var/log/asterisk/messages'],
      }),
    ]);
    expect(r.config['notifications']).toBeUndefined();
    const actions = line(r, 'asterisk-iptables', 'action');
    expect(actions.map((a) => a.status)).toEqual(['mapped', 'approximated']);
    expect(actions[1]?.detail).toMatch(/sendmail-whois: .*"root" is not a full e-mail address/);
  });

  it('blacklist: no jail; permanent manual bans with `cloudjail ban --permanent`', () => {
    const r = load('blacklist');
    expectValid(r);
    expect(jailsOf(r)).toEqual([]);
    expect(line(r, 'blacklist', 'bantime')[0]).toMatchObject({
      status: 'approximated',
      detail: expect.stringContaining('cloudjail ban --permanent'),
      line: 5,
    });
    expect(line(r, 'blacklist', 'findtime')).toHaveLength(1);
  });

  it('recidive: escalation on the other jails; a mail action with a full address → notifications', () => {
    const r = load('recidive');
    expectValid(r);
    expect(jailsOf(r)).toEqual([
      expect.objectContaining({
        name: 'asterisk',
        filter: 'asterisk',
        'bantime.increment': true,
        'bantime.overalljails': true,
        'bantime.maxtime': '1w',
        deny: { ports: '5060,5061', protocols: ['tcp'] },
      }),
    ]);
    expect(r.config['notifications']).toEqual({ email: 'pbx-admin@example.net' });
    expect(line(r, 'recidive', 'bantime')[0]?.detail).toMatch(/recidive escalation/);
  });

  it('reports every key of a jail, each once, with its file and line', () => {
    for (const name of ['freeswitch-ufw', 'freeswitch-cdr', 'asterisk-iptables', 'blacklist']) {
      const r = load(name);
      const keys = r.report.filter((l) => l.jail !== '*' && l.key !== 'action');
      const seen = keys.map((l) => `${l.jail}.${l.key}`);
      expect(new Set(seen).size, `${name}: ${seen.join(' ')}`).toBe(seen.length);
      for (const l of r.report.filter((x) => x.jail !== '*' && x.key !== 'name')) {
        expect(l.file, `${name} ${l.key}`).toMatch(/\.(conf|local)$/);
        expect(l.line).toBeGreaterThan(0);
      }
    }
  });

  it('--jail selects jails, enabled or not; an unknown jail is an error naming the jails', () => {
    const r = load('freeswitch-ufw', ['asterisk']);
    expect(jailsOf(r).map((j) => j['name'])).toEqual(['asterisk']);
    expect(line(r, 'asterisk', 'enabled')[0]?.detail).toMatch(
      /not enabled: imported because --jail/,
    );
    expect(() => load('freeswitch-ufw', ['nope'])).toThrow(/no jail \[nope\].*jails: .*freeswitch/);
  });

  it('splits filter specs with several bracket groups (%(known/filter)s[...])', () => {
    expect(splitSpec(`freeswitch[mode=normal][_pref_line='(?: [\\d\\.]+%%)?']`)).toEqual({
      name: 'freeswitch',
      params: { mode: 'normal', _pref_line: '(?: [\\d\\.]+%%)?' },
    });
    expect(() => splitSpec('x[a=1')).toThrow(/missing '\]'/);
  });
});

describe('cloudjail import: a bare jail.local (as many published snippets are)', () => {
  it('maps what it can and reports the rest, nothing silently dropped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloudjail-import-local-'));
    writeFileSync(
      join(dir, 'jail.local'),
      [
        '[asterisk]',
        'enabled = yes',
        'filter = asterisk',
        'logpath = /var/log/asterisk/messages',
        '          /var/log/asterisk/full*',
        'ignoreip = 192.0.2.0/24 pbx.example.net',
        'logtimezone = UTC+0200',
        'bantime = -1',
        'bantime.increment = true',
        'bantime.formula = ban.Time * 3',
        'bantime.multipliers = 1 5 30',
        'failregex = ^x <HOST>$',
        'action = iptables-multiport[name=sip, port="sip,sip-tls", protocol=udp]',
        '         cloudflare[cfuser="a@example.net"]',
        '',
      ].join('\n'),
    );
    const r = load(dir);
    expectValid(r);
    expect(jailsOf(r)).toEqual([
      {
        name: 'asterisk',
        filter: 'asterisk',
        bantime: '-1',
        'bantime.increment': true,
        'bantime.multipliers': '1 5 30',
        ignoreip: ['192.0.2.0/24'],
        timezone: 'UTC+0200',
        deny: { ports: '5060,5061', protocols: ['udp'] },
        logGroups: ['/cloudjail/var/log/asterisk/messages', '/cloudjail/var/log/asterisk/full_'],
      },
    ]);
    const status = (key: string) => line(r, 'asterisk', key).map((l) => l.status);
    expect(status('ignoreip')).toEqual(['approximated']);
    expect(line(r, 'asterisk', 'ignoreip')[0]?.detail).toMatch(/dropped pbx\.example\.net/);
    expect(status('bantime.formula')).toEqual(['dropped']);
    expect(status('failregex')).toEqual(['dropped']);
    expect(status('logpath')).toEqual(['approximated']); // a glob
    expect(line(r, 'asterisk', 'action').map((l) => [l.status, l.detail.split(':')[0]])).toEqual([
      ['mapped', 'iptables-multiport'],
      ['dropped', 'cloudflare'],
    ]);
    for (const l of r.report.filter((x) => x.jail === 'asterisk')) {
      expect(l.file).toBe(join(dir, 'jail.local'));
    }
  });
});

const DEBIAN = '/etc/fail2ban';
const installed = existsSync(join(DEBIAN, 'jail.conf'));
const required = process.env['CLOUDJAIL_REQUIRE_FAIL2BAN'] === '1';

describe("cloudjail import: Debian's /etc/fail2ban (jail.conf + jail.d/defaults-debian.conf)", () => {
  it.runIf(required)('is installed (CLOUDJAIL_REQUIRE_FAIL2BAN=1)', () => {
    expect(installed, `${DEBIAN}/jail.conf must exist: apt-get install -y fail2ban`).toBe(true);
  });
  it.skipIf(!installed)(
    `imports the one enabled jail, sshd, with fail2ban's own filter${installed ? '' : ' (skipped: /etc/fail2ban is absent)'}`,
    () => {
      const r = load(DEBIAN);
      expectValid(r);
      expect(jailsOf(r)).toEqual([
        expect.objectContaining({
          name: 'sshd',
          filter: `${DEBIAN}/filter.d/sshd.conf[mode=normal]`,
          maxretry: 5,
          findtime: '10m',
          bantime: '10m',
          deny: { ports: '22', protocols: ['tcp'] },
          logGroups: ['/cloudjail/var/log/auth.log'],
        }),
      ]);
      expect(line(r, 'sshd', 'enabled')[0]?.file).toBe(`${DEBIAN}/jail.d/defaults-debian.conf`);
      expect(line(r, 'sshd', 'logpath')[0]?.file).toBe(`${DEBIAN}/jail.conf`);
      // Nothing is silently dropped: every fail2ban option with a value has a line.
      for (const key of ['backend', 'usedns', 'logencoding', 'maxmatches', 'ignorecommand']) {
        expect(line(r, 'sshd', key), key).toHaveLength(1);
      }
    },
  );
});
