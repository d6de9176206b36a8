/**
 * `cloudjail regex` as users run it: a spawned process, checking stdout, stderr and exit codes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'cli/cloudjail.js');
const tmp = mkdtempSync(join(tmpdir(), 'cloudjail-regex-'));

function cloudjail(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    input,
    cwd: ROOT,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const LOG = join(tmp, 'freeswitch.log');
writeFileSync(
  LOG,
  [
    '# a comment line is skipped and not counted',
    "2024-04-09 17:05:44.918273 97.44% [WARNING] sofia_reg.c:1842 SIP auth failure (REGISTER) on sofia profile 'internal' for [1001@pbx.example.com] from ip 203.0.113.9",
    '2024-04-09 17:05:45.000001 97.44% [DEBUG] sofia.c:100 nothing to see',
    "2024-04-09 17:05:46.5 97.44% [WARNING] sofia_reg.c:1842 SIP auth failure (INVITE) on sofia profile 'external' for [x@y] from ip 2001:db8::7",
    '',
  ].join('\n'),
);

describe('cloudjail regex', () => {
  it('decodes a log file with non-ASCII lines as UTF-8 (missed lines print as written)', () => {
    const log = join(tmp, 'utf8.log');
    const odd = '2024-04-09 17:05:47.1 97.44% [DEBUG] sofia.c:1 Müller 東京 ✓ Ωmega';
    writeFileSync(log, `${odd}\n2024-04-09 17:05:48.2 97.44% [DEBUG] sofia.c:2 plain\n`);
    const r = cloudjail(['regex', '--print-all-missed', log, 'freeswitch']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Lines: 2 lines, 0 ignored, 0 matched, 2 missed');
    expect(r.stdout).toContain(`|  ${odd}\n`);
    expect(r.stdout).toContain('sofia.c:2 plain\n');
  });

  it('prints fail2ban-regex style statistics for a log file and a built-in filter', () => {
    const r = cloudjail(['regex', LOG, 'freeswitch[mode=normal]']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Lines: 3 lines, 0 ignored, 2 matched, 1 missed');
    expect(r.stdout).toMatch(/Failregex: 2 total/);
    expect(r.stdout).toContain('Date template hits:');
    expect(r.stdout).toContain('|- Missed line(s):');
    expect(r.stdout).toContain('nothing to see');
  });

  it('--json follows the contract: one object per failure, then the summary', () => {
    const r = cloudjail(['regex', '--json', LOG, 'freeswitch']);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        n: 2,
        host: '203.0.113.9',
        time: Date.UTC(2024, 3, 9, 17, 5, 44, 918),
        failregex: expect.any(Number),
      },
      {
        n: 4,
        host: '2001:db8::7',
        time: Date.UTC(2024, 3, 9, 17, 5, 46, 500),
        failregex: expect.any(Number),
      },
      { summary: { lines: 3, matched: 2, ignored: 0, missed: 1 } },
    ]);
  });

  it('--events reads CloudWatch events from stdin; the timestamp is the fallback time', () => {
    const events = [
      { message: 'Apr  9 17:05:47 sbc asterisk[1]: nothing', timestamp: 1 },
      {
        message:
          "[WARNING] sofia_reg.c:1842 SIP auth failure (REGISTER) on sofia profile 'internal' for [a@b] from ip 198.51.100.4",
        timestamp: 1712682347000,
      },
    ]
      .map((e) => JSON.stringify(e))
      .join('\n');
    const r = cloudjail(['regex', '--json', '--events', '-', 'freeswitch'], events);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ n: 2, host: '198.51.100.4', time: 1712682347000, failregex: 1 });
    expect(lines.at(-1)).toEqual({ summary: { lines: 2, matched: 1, ignored: 0, missed: 1 } });
  });

  it('loads an unchanged fail2ban filter file by path with parameters, on a literal line', () => {
    const conf = join(tmp, 'mine.conf');
    writeFileSync(
      conf,
      '[Definition]\nfailregex = ^<mdre-<mode>>$\nmode = a\nmdre-a = bad login from <HOST>\n',
    );
    const r = cloudjail(['regex', '--json', 'bad login from 192.0.2.44', `${conf}[mode=a]`]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.split('\n')[0] ?? '')).toMatchObject({ n: 1, host: '192.0.2.44' });
  });

  it.each([
    [['regex', './missing.log', 'freeswitch'], /log file not found: \.\/missing\.log/],
    [['regex', 'x', 'no-such-filter'], /unknown filter 'no-such-filter'/],
    [['regex', 'x', 'freeswitch[mode=extra'], /missing closing '\]'/],
  ])('bad input %j → exit 2 with one clear line', (args, message) => {
    const r = cloudjail(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('a bad regex in a .conf names the file, option and line', () => {
    const conf = join(tmp, 'bad.conf');
    writeFileSync(conf, '[Definition]\nfailregex = ^ok <HOST>$\n            ^broken (<HOST>$\n');
    const r = cloudjail(['regex', 'x', conf]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${conf} [Definition] failregex line 2`);
  });

  it('an unparsable .conf names file:line', () => {
    const conf = join(tmp, 'garbage.conf');
    writeFileSync(conf, '[Definition]\nfailregex = ^x <HOST>$\nnot an option line\n');
    const r = cloudjail(['regex', 'x', conf]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${conf}:3`);
  });
});
