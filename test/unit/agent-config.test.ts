/**
 * `cloudjail agent-config`: the generated CloudWatch agent configuration reads real SBC log lines
 * correctly — the timestamp format finds the event time, and every physical line is an event of its
 * own (no multi-line start pattern an attacker could satisfy).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  type AgentCollectEntry,
  buildAgentConfig,
  findJailInCdkJson,
  LOG_FORMATS,
  resolveAgentJail,
} from '../../cli/agent-config.js';
import { CliError, ExitCode } from '../../cli/exit-codes.js';
import { main } from '../../cli/main.js';
import { agentEvents } from '../helpers/agent-events.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CDK_JSON = join(ROOT, 'cdk.json');

/** The agent's strftime subset → a JS regex with named parts (what the agent does internally). */
function timestampRegex(format: string): RegExp {
  const parts: Record<string, string> = {
    '%Y': '(?<Y>\\d{4})',
    '%m': '(?<m>\\d{2})',
    '%d': '(?<d>\\d{2})',
    '%H': '(?<H>\\d{2})',
    '%M': '(?<M>\\d{2})',
    '%S': '(?<S>\\d{2})',
    '%f': '(?<f>\\d{1,9})',
  };
  const body = format
    .split(/(%[A-Za-z])/)
    .map((piece) => parts[piece] ?? piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('');
  return new RegExp(body);
}

function eventTime(format: string, line: string): string | undefined {
  const g = timestampRegex(format).exec(line)?.groups;
  return g ? `${g['Y']}-${g['m']}-${g['d']}T${g['H']}:${g['M']}:${g['S']}` : undefined;
}

/** Splits lines into events the way the agent does with the generated entry. */
function splitEvents(entry: AgentCollectEntry, lines: readonly string[]): string[] {
  return agentEvents(entry, `${lines.join('\n')}\n`);
}

const FS_LINES = [
  "2019-05-07 10:22:31.004512 [WARNING] sofia_reg.c:1673 SIP auth failure (REGISTER) on sofia profile 'internal' for [3101@tel.example.com] from ip 192.0.2.150",
  "2024-04-09 17:06:40.660000 98.70% [WARNING] sofia_reg.c:3210 Can't find user [3107@198.51.100.50] from 192.0.2.158",
  'You must define a domain called \'198.51.100.50\' in your directory and add a user with the id="3107" attribute',
  'and you must configure your device to use the proper domain in its authentication credentials.',
  '3f0b6a2e-1c55-4b8e-8f31-9a7d2e6c4b10 2024-04-09 17:06:00.100200 99.01% [NOTICE] switch_channel.c:1142 New Channel sofia/internal/3102@tel.example.com',
  "\u001b[m\u001b[35m2024-04-09 17:06:10.000300 98.90% [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'internal' for [3103@tel.example.com] from ip 192.0.2.154",
];

const AST_LINES = [
  "[2021-08-30 02:14:55] NOTICE[5120] chan_sip.c: Registration from '\"4102\" <sip:4102@voip.example.net>' failed for '203.0.113.161:5077' - No matching peer found",
  "[2024-04-09 17:10:03.412] NOTICE[7781][C-00000a11] res_pjsip_session.c:  anonymous: Call (UDP:203.0.113.162:5060) to extension '0044205550177' rejected because extension not found in context 'anonymous'.",
  '[2024-04-09 17:10:04.500] SECURITY[7790] res_security_log.c: SecurityEvent="InvalidPassword",RemoteAddress="IPV4/UDP/203.0.113.165/5060"',
];

describe('agent-config generator', () => {
  it('ships a FreeSWITCH log to the jail log group from cdk.json, one stream per instance', () => {
    const jail = resolveAgentJail('freeswitch', CDK_JSON, undefined);
    const config = buildAgentConfig({ jail, file: '/var/log/freeswitch/freeswitch.log' });
    const [entry, ...rest] = config.logs.logs_collected.files.collect_list;
    expect(rest).toHaveLength(0);
    expect(entry).toMatchObject({
      file_path: '/var/log/freeswitch/freeswitch.log',
      log_group_name: jail.logGroups[0],
      log_stream_name: '{instance_id}',
      timezone: 'UTC',
    });
    expect(jail.logGroups[0]).toMatch(/^\//);
  });

  it('FreeSWITCH: finds the event time; every physical line is its own event', () => {
    const format = LOG_FORMATS['freeswitch']!;
    expect(eventTime(format.timestampFormat, FS_LINES[0]!)).toBe('2019-05-07T10:22:31');
    expect(eventTime(format.timestampFormat, FS_LINES[1]!)).toBe('2024-04-09T17:06:40');
    expect(eventTime(format.timestampFormat, FS_LINES[5]!)).toBe('2024-04-09T17:06:10');
    const jail = { name: 'fs', filter: 'freeswitch', logGroups: ['/g'] };
    const entry = buildAgentConfig({ jail, file: '/f' }).logs.logs_collected.files.collect_list[0]!;
    // A start pattern would let a raw newline plus a fake date start a forged event.
    expect(entry).not.toHaveProperty('multi_line_start_pattern');
    expect(splitEvents(entry, FS_LINES)).toEqual(FS_LINES);
  });

  it('Asterisk: finds the event time with or without milliseconds; each line is one event', () => {
    const format = LOG_FORMATS['asterisk']!;
    expect(eventTime(format.timestampFormat, AST_LINES[0]!)).toBe('2021-08-30T02:14:55');
    expect(eventTime(format.timestampFormat, AST_LINES[1]!)).toBe('2024-04-09T17:10:03');
    const jail = resolveAgentJail('asterisk', CDK_JSON, undefined);
    const entry = buildAgentConfig({ jail, file: '/var/log/asterisk/messages' }).logs.logs_collected
      .files.collect_list[0]!;
    expect(splitEvents(entry, AST_LINES)).toEqual(AST_LINES);
    expect(entry.timestamp_format).toBe('%Y-%m-%d %H:%M:%S');
    expect(entry.log_group_name).toBe(jail.logGroups[0]);
  });

  it('--prefilter keeps every failure line and drops noise on the host', () => {
    const jail = { name: 'fs', filter: 'freeswitch[mode=extra]', logGroups: ['/g'] };
    const entry = buildAgentConfig({ jail, file: '/f', prefilter: true }).logs.logs_collected.files
      .collect_list[0]!;
    const include = new RegExp(entry.filters![0]!.expression);
    expect(include.test(FS_LINES[0]!)).toBe(true);
    expect(include.test(FS_LINES.slice(1, 4).join('\n'))).toBe(true);
    expect(
      include.test('2024-04-09 17:06:12.000300 [INFO] mod_dialplan_xml.c:637 Processing'),
    ).toBe(false);
    const plain = buildAgentConfig({ jail, file: '/f' }).logs.logs_collected.files.collect_list[0]!;
    expect(plain.filters).toBeUndefined();
  });

  it('maps a non-UTC jail timezone to the host local time and honours --log-group', () => {
    const jail = {
      name: 'fs',
      filter: 'freeswitch',
      logGroups: ['/a', '/b'],
      timezone: 'Europe/Zurich',
    };
    const entry = buildAgentConfig({ jail, file: '/f', logGroup: '/b' }).logs.logs_collected.files
      .collect_list[0]!;
    expect(entry.timezone).toBe('Local');
    expect(entry.log_group_name).toBe('/b');
  });

  it('falls back to built-in knowledge when cdk.json lacks the jail, given --log-group', () => {
    const jail = resolveAgentJail('freeswitch', '/nonexistent/cdk.json', '/my/group');
    expect(jail).toEqual({ name: 'freeswitch', filter: 'freeswitch', logGroups: ['/my/group'] });
  });

  it('rejects what it cannot do safely, with exit code 2 and a clear message', () => {
    const bad = (fn: () => unknown, message: RegExp) => {
      try {
        fn();
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(CliError);
        expect((error as CliError).code).toBe(ExitCode.BadInput);
        expect((error as CliError).message).toMatch(message);
      }
    };
    bad(() => resolveAgentJail('freeswitch', '/nonexistent/cdk.json', undefined), /--log-group/);
    // An unknown jail is "not found" (exit 4), as for every command's --jail.
    try {
      resolveAgentJail('nosuch', CDK_JSON, undefined);
      expect.unreachable();
    } catch (error) {
      expect((error as CliError).code).toBe(ExitCode.NotFound);
      expect((error as CliError).message).toMatch(/no jail "nosuch"/);
    }
    bad(
      () =>
        buildAgentConfig({
          jail: { name: 'k', filter: 'kamailio', logGroups: ['/g'] },
          file: '/f',
        }),
      /no built-in log format for filter "kamailio"/,
    );
    bad(
      () =>
        buildAgentConfig({ jail: { name: 'fs', filter: 'freeswitch', logGroups: [] }, file: '/f' }),
      /no log group/,
    );
    bad(() => findJailInCdkJson('{nope', 'x', 'my.json'), /my\.json: not valid JSON/);
    bad(
      () =>
        findJailInCdkJson(
          JSON.stringify({ context: { cloudjail: { jails: [{ name: 'x', logGroups: 'g' }] } } }),
          'x',
          'c.json',
        ),
      /jails\[0\]\.logGroups/,
    );
  });
});

describe('cloudjail agent-config (command)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudjail-agent-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      err += String(chunk);
      return true;
    });
    try {
      const code = await main(['node', 'cloudjail', ...args]);
      return { code, out, err };
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
  }

  it('prints the agent configuration as JSON for the issue example', async () => {
    const config = join(dir, 'cdk.json');
    writeFileSync(
      config,
      JSON.stringify({
        context: {
          cloudjail: {
            jails: [{ name: 'freeswitch', filter: 'freeswitch', logGroups: ['/prod/fs'] }],
          },
        },
      }),
    );
    const { code, out } = await run([
      'agent-config',
      '--jail',
      'freeswitch',
      '--file',
      '/var/log/freeswitch/freeswitch.log',
      '--config',
      config,
    ]);
    expect(code).toBe(ExitCode.Ok);
    const parsed = JSON.parse(out);
    expect(parsed.logs.logs_collected.files.collect_list[0]).toMatchObject({
      file_path: '/var/log/freeswitch/freeswitch.log',
      log_group_name: '/prod/fs',
      log_stream_name: '{instance_id}',
      timestamp_format: '%Y-%m-%d %H:%M:%S.%f',
    });
  });

  it('exits 4 naming the problem for an unknown jail', async () => {
    const { code, out, err } = await run([
      'agent-config',
      '--jail',
      'nosuch',
      '--file',
      '/x.log',
      '--config',
      CDK_JSON,
    ]);
    expect(code).toBe(ExitCode.NotFound);
    expect(out).toBe('');
    expect(err).toContain('no jail "nosuch"');
  });
});
