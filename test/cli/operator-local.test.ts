/**
 * What fail2ban users reach for, against a `cloudjail local` server (issue 15, items 11, 13, 14):
 * `status <jail>` settings, `set` (runtime overrides), `ban`/`unban --file` in one enforcer run, a
 * blacklist jail without log groups, the hints of `unban` and `ignore del`, `ignore list --jail`,
 * `ignore` alone, `--jail nosuch` exit 4, directories given as logs, `agent-config` on both shapes.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI,
  type CliResult,
  cloudjail,
  type LocalServer,
  lastJson,
  ROOT,
  startLocalServer,
  tempDir,
} from './cli-process.js';

const tmp = tempDir('operator-local');
const sample = JSON.parse(readFileSync(join(ROOT, 'samples/cloudjail.json'), 'utf8'));
const configPath = join(tmp, 'cloudjail.json');
writeFileSync(
  configPath,
  JSON.stringify({
    ...sample,
    jails: [...sample.jails, { name: 'blacklist', logGroups: [], bantime: -1, deny: 'all' }],
  }),
);

let server: LocalServer;
const run = (...args: string[]) => cloudjail([...args, ...server.args]);

/** The CLI with `input` on stdin. */
function withStdin(args: readonly string[], input: string): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args, ...server.args], {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (code) => done({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

beforeAll(async () => {
  server = await startLocalServer(['--config', configPath]);
}, 60_000);

afterAll(async () => {
  expect(await server?.stop()).toBe(0);
});

describe('status <jail> and set (items 13, 14)', { timeout: 180_000 }, () => {
  it("status <jail> shows the jail's settings, like fail2ban-client get", async () => {
    const [human, json] = await Promise.all([
      run('status', 'asterisk'),
      run('status', 'asterisk', '--json'),
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/filter: +asterisk/);
    expect(human.stdout).toMatch(/maxretry: +5/);
    expect(human.stdout).toMatch(/findtime: +10m/);
    expect(human.stdout).toMatch(/bantime: +1h/);
    expect(human.stdout).toMatch(/escalation: +off/);
    expect(human.stdout).toMatch(/deny: +/);
    const settings = (lastJson(json) as { settings: Record<string, unknown> }).settings;
    expect(settings).toMatchObject({ filter: 'asterisk', maxretry: 5, findtime: 600_000 });
  });

  it('set <jail> bantime 3d: stored without a deploy, shown by status, reset restores', async () => {
    const set = await run('set', 'freeswitch', 'bantime', '3d');
    expect(set.code).toBe(0);
    const shown = await run('status', 'freeswitch');
    expect(shown.stdout).toMatch(/bantime: +3d {2}\(set at runtime; configured 1h\)/);
    expect((await run('set', 'freeswitch', 'bantime', 'reset')).code).toBe(0);
    expect((await run('status', 'freeswitch')).stdout).toMatch(/bantime: +1h\n/);
    const bad = await run('set', 'freeswitch', 'deny', 'all');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot be changed at runtime/);
    expect((await run('set', 'nosuch', 'bantime', '1h')).code).toBe(4);
  });
});

describe('ban/unban many, the blacklist jail (item 13)', { timeout: 180_000 }, () => {
  it('ban --file LIST --jail blacklist (no log groups): every address, one enforcer run; unban --file -', async () => {
    const list = join(tmp, 'list.txt');
    writeFileSync(list, '# blacklist\n203.0.113.201\n203.0.113.202, 2001:db8:bad::7\n\n');
    const ban = await run('ban', '--file', list, '--jail', 'blacklist', '--json');
    expect(ban.code).toBe(0);
    const out = lastJson(ban) as { results: { cidr: string; status: string; enforced: boolean }[] };
    expect(out.results.map((r) => [r.cidr, r.status, r.enforced])).toEqual([
      ['203.0.113.201/32', 'banned', true],
      ['203.0.113.202/32', 'banned', true],
      ['2001:db8:bad::7/128', 'banned', true],
    ]);
    const status = await run('status', 'blacklist');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/Banned IP list:\t.*203\.0\.113\.201/);
    const unban = await withStdin(['unban', '--file', '-'], '203.0.113.201\n203.0.113.202\n');
    expect(unban.code).toBe(0);
    expect(unban.stdout).toMatch(/released 2 ban\(s\)/);
    expect(unban.stdout).toContain('enforcer (one run):');
  });

  it('a jail named "manual" is refused with a clear error', async () => {
    const bad = join(tmp, 'manual.json');
    writeFileSync(
      bad,
      JSON.stringify({ ...sample, jails: [{ ...sample.jails[0], name: 'manual' }] }),
    );
    const r = await cloudjail(['replay', 'samples/freeswitch.log', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/jails\[0\]\.name: "manual" is reserved/);
  });
});

describe('messages that say what works (item 11)', { timeout: 180_000 }, () => {
  it('unban of an address inside a banned range suggests unbanning the range, not ignore add', async () => {
    expect((await run('ban', '198.51.100.0/24')).code).toBe(0);
    const r = await run('unban', '198.51.100.7');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('`cloudjail unban 198.51.100.0/24`');
    expect(r.stderr).not.toMatch(/`cloudjail ignore add/);
    expect((await run('unban', '198.51.100.0/24')).code).toBe(0);
  });

  it('ignore del of a jail-scoped entry without --jail names the jail; ignore list --jail', async () => {
    expect((await run('ignore', 'add', '192.0.2.99', '--jail', 'asterisk')).code).toBe(0);
    const del = await run('ignore', 'del', '192.0.2.99');
    expect(del.code).toBe(4);
    expect(del.stderr).toContain('allowlisted for jail asterisk');
    expect(del.stderr).toContain('`cloudjail ignore del 192.0.2.99 --jail asterisk`');
    const [fs, ast, nosuch] = await Promise.all([
      run('ignore', 'list', '--jail', 'freeswitch', '--json'),
      run('ignore', 'list', '--jail', 'asterisk', '--json'),
      run('ignore', 'list', '--jail', 'nosuch'),
    ]);
    const cidrs = (r: CliResult) =>
      (lastJson(r) as { entries: { cidr: string }[] }).entries.map((e) => e.cidr);
    expect(cidrs(fs)).not.toContain('192.0.2.99/32');
    expect(cidrs(fs)).toContain('192.0.2.0/28'); // the global ignoreip applies to every jail
    expect(cidrs(ast)).toContain('192.0.2.99/32');
    expect(nosuch.code).toBe(4);
  });

  it('`cloudjail ignore` alone prints its help and exits 0', async () => {
    const r = await cloudjail(['ignore']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: cloudjail ignore/);
  });

  it('--jail nosuch exits 4 everywhere', async () => {
    const results = await Promise.all([
      cloudjail(['replay', 'samples/freeswitch.log', '--jail', 'nosuch']),
      cloudjail([
        'agent-config',
        '--jail',
        'nosuch',
        '--file',
        '/var/log/x.log',
        '--config',
        configPath,
      ]),
      run('status', 'nosuch'),
      run('ban', '203.0.113.250', '--jail', 'nosuch'),
      run('unban', '203.0.113.250', '--jail', 'nosuch'),
      run('ignore', 'add', '203.0.113.250', '--jail', 'nosuch'),
    ]);
    expect(results.map((r) => r.code)).toEqual([4, 4, 4, 4, 4, 4]);
  });

  it('a directory given as a log file is said to be one', async () => {
    const [replay, regex] = await Promise.all([
      cloudjail(['replay', 'samples']),
      cloudjail(['regex', 'samples', 'freeswitch']),
    ]);
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/samples is a directory, not a log file/);
    expect(regex.code).toBe(2);
    expect(regex.stderr).toMatch(/samples is a directory, not a log file/);
  });

  it('agent-config reads the configuration itself as well as a cdk.json', async () => {
    const r = await cloudjail([
      'agent-config',
      '--jail',
      'freeswitch',
      '--file',
      '/var/log/freeswitch/freeswitch.log',
      '--config',
      'samples/cloudjail.json',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('/cloudjail/demo/freeswitch');
  });
});
