/**
 * The whole pipeline on one machine through CloudWatch Logs, as users run it: `cloudjail local`,
 * then `cloudjail ship <log> --local` (PutLogEvents → the stack's subscription filters → local
 * detector → table → enforcer), `status --local`, and `regex --log-group --local` against the
 * shipped log. The deployed path is the same client code with another endpoint: ship and regex
 * --log-group against a local CloudWatch Logs endpoint named by AWS_ENDPOINT_URL_CLOUDWATCH_LOGS.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalLogs, startLocalLogs } from '../../local/logs-endpoint.js';
import {
  CLI,
  cloudjail,
  type LocalServer,
  lastJson,
  ROOT,
  startLocalServer,
  tempDir,
} from './cli-process.js';

const FREESWITCH = `${ROOT}/samples/freeswitch.log`;
const ASTERISK = `${ROOT}/samples/asterisk.log`;
// The attackers `npm start` bans (test/cli/replay.test.ts).
const ATTACKERS = [
  '198.51.100.140/32',
  '198.51.100.77/32',
  '2001:db8:bad:1::66/128',
  '2001:db8:bad:2::9/128',
  '2001:db8:bad:3::5/128',
  '203.0.113.120/32',
  '203.0.113.150/32',
  '203.0.113.45/32',
  '203.0.113.88/32',
];

let server: LocalServer;
const local = (...args: string[]) => cloudjail([...args, ...server.args]);

beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(async () => {
  expect(await server?.stop()).toBe(0);
});

/** The statistics part of `regex`'s human output (without timing and the input's name). */
function statistics(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => !/^Use {9}log file|^\[processed in/.test(l))
    .join('\n');
}

describe('cloudjail local + ship: the pipeline through CloudWatch Logs', () => {
  it('ship --local of both sample logs bans what npm start bans; status shows real failure counts', async () => {
    const fs = await local('ship', FREESWITCH, '--json');
    expect(fs.code, fs.stderr).toBe(0);
    expect(lastJson(fs)).toMatchObject({
      logGroup: '/cloudjail/demo/freeswitch',
      jail: 'freeswitch',
      lines: 51,
      batches: 1,
      rejected: { tooOld: 0, expired: 0, tooNew: 0 },
    });
    // The "Can't find user" continuation lines join their first line: fewer events than lines.
    expect((lastJson(fs) as { events: number }).events).toBeLessThan(51);
    // A 2024 log is moved to now (CloudWatch refuses events older than 14 days), and says so.
    expect(fs.stderr).toMatch(/its times are moved by/);
    const ast = await local('ship', ASTERISK);
    expect(ast.code, ast.stderr).toBe(0);
    expect(ast.stdout).toMatch(/shipped 35 event\(s\) \(35 lines\) to \/cloudjail\/demo\/asterisk/);

    type Status = {
      jails: { jail: string; currentlyFailed: number; totalFailed: number }[];
      activeBans: number;
      enforcement: { nacls: { ipv4: { enforced: number }; ipv6: { enforced: number } }[] };
    };
    let status = {} as Status;
    // The detector runs when the subscription delivers (about a second), the enforcer after it.
    await expect
      .poll(
        async () => {
          status = lastJson(await local('status', '--json')) as Status;
          const n = status.enforcement?.nacls[0];
          return [status.activeBans, n?.ipv4.enforced, n?.ipv6.enforced];
        },
        { timeout: 120_000, interval: 1000 },
      )
      .toEqual([9, 6, 3]);
    const banned = await Promise.all(
      ['freeswitch', 'asterisk'].map(async (jail) => {
        const r = await local('status', jail, '--json');
        return (lastJson(r) as { banned: { cidr: string }[] }).banned.map((b) => b.cidr);
      }),
    );
    expect(banned.flat().sort()).toEqual([...ATTACKERS].sort());
    // The server printed the NACL table after the enforcer's runs: every attacker denied.
    const tables = server.output().split('(inbound):');
    const last = tables[tables.length - 1] ?? '';
    for (const cidr of ATTACKERS) expect(last).toContain(cidr);
    const byJail = Object.fromEntries(status.jails.map((j) => [j.jail, j]));
    expect(byJail.freeswitch?.totalFailed).toBeGreaterThan(0);
    expect(byJail.asterisk?.totalFailed).toBeGreaterThan(0);
    expect(
      (byJail.freeswitch?.currentlyFailed ?? 0) + (byJail.asterisk?.currentlyFailed ?? 0),
    ).toBeGreaterThan(0);
  }, 240_000);

  it('regex --log-group --local prints the statistics of regex on the shipped file', async () => {
    const [onFile, onGroup, fileJson, groupJson] = await Promise.all([
      cloudjail(['regex', FREESWITCH, 'freeswitch[mode=normal]']),
      local('regex', '--log-group', '/cloudjail/demo/freeswitch', '--since', '1h'),
      cloudjail(['regex', ASTERISK, 'asterisk', '--json']),
      local('regex', '--log-group', '/cloudjail/demo/asterisk', 'asterisk', '--json'),
    ]);
    expect(onGroup.code, onGroup.stderr).toBe(0);
    expect(onGroup.stdout).toMatch(/Use {9}log file : log group \/cloudjail\/demo\/freeswitch/);
    expect(statistics(onGroup.stdout)).toBe(statistics(onFile.stdout));
    expect(statistics(onGroup.stdout)).toMatch(/Lines: 51 lines, 0 ignored, \d+ matched/);
    expect(groupJson.code, groupJson.stderr).toBe(0);
    expect(lastJson(groupJson)).toEqual(lastJson(fileJson));
    // Not a terminal: no progress display on stderr.
    expect(onGroup.stderr).toBe('');
  });

  it('regex --log-group: a filter pattern narrows the events; a missing group is exit 4', async () => {
    const narrowed = await local(
      'regex',
      '--log-group',
      '/cloudjail/demo/freeswitch',
      '--filter-pattern',
      '"Can\'t find user"',
      '--json',
    );
    expect(narrowed.code, narrowed.stderr).toBe(0);
    expect(lastJson(narrowed)).toMatchObject({ summary: { lines: 15, missed: 10 } });
    const missing = await local('regex', '--log-group', '/nope', 'freeswitch');
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/log group \/nope: The specified log group does not exist/);
  });
});

describe('deployed mode: the same client code, endpoint injected', () => {
  let logs: LocalLogs;
  let env: Record<string, string>;
  beforeAll(async () => {
    logs = await startLocalLogs();
    const { CreateLogGroupCommand } = await import('@aws-sdk/client-cloudwatch-logs');
    await logs.client().send(new CreateLogGroupCommand({ logGroupName: '/sbc/freeswitch' }));
    env = {
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: logs.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
  });
  afterAll(async () => {
    await logs?.stop();
  });

  it('ship --log-group --log-stream then regex --log-group: same statistics as the file', async () => {
    const shipped = await cloudjail(
      [
        'ship',
        FREESWITCH,
        '--jail',
        'freeswitch',
        '--log-group',
        '/sbc/freeswitch',
        '--log-stream',
        'sbc-1',
        '--retime',
        '--json',
      ],
      ROOT,
      env,
    );
    expect(shipped.code, shipped.stderr).toBe(0);
    expect(lastJson(shipped)).toMatchObject({ logGroup: '/sbc/freeswitch', logStream: 'sbc-1' });
    expect(logs.events('/sbc/freeswitch', 'sbc-1').length).toBe(
      (lastJson(shipped) as { events: number }).events,
    );
    const [onFile, onGroup] = await Promise.all([
      cloudjail(['regex', FREESWITCH, 'freeswitch[mode=normal]', '--json']),
      cloudjail(
        ['regex', '--log-group', '/sbc/freeswitch', 'freeswitch[mode=normal]', '--json'],
        ROOT,
        env,
      ),
    ]);
    expect(onGroup.code, onGroup.stderr).toBe(0);
    expect(onGroup.stdout).toBe(onFile.stdout);
  });

  it('without --retime an old log is refused event by event, and ship says so', async () => {
    const r = await cloudjail(
      ['ship', ASTERISK, '--jail', 'asterisk', '--log-group', '/sbc/freeswitch', '--json'],
      ROOT,
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r)).toMatchObject({ events: 0, rejected: { tooOld: 35 } });
    expect(r.stderr).toMatch(/refused 35 event\(s\): 35 older than 14 days/);
  });

  it('--follow ships what is appended (a continuation line joins its event) until SIGTERM', async () => {
    const file = join(tempDir('follow'), 'freeswitch.log');
    const line = (ip: string) =>
      `${new Date().toISOString().replace('T', ' ').replace('Z', '000')} 98.31% [WARNING] sofia_reg.c:3210 Can't find user [admin@x] from ${ip}`;
    writeFileSync(file, `${line('203.0.113.1')}\n`);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'ship',
        file,
        '--follow',
        '--jail',
        'freeswitch',
        '--log-group',
        '/sbc/freeswitch',
        '--log-stream',
        'follow',
        '--json',
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const stored = () => logs.events('/sbc/freeswitch', 'follow').map((e) => e.message);
    await expect.poll(() => stored().length, { timeout: 30_000, interval: 250 }).toBe(1);
    appendFileSync(file, `${line('203.0.113.2')}\nYou must define a domain called 'x'\n`);
    // Flushed within force_flush_interval (5 s) once the multi-line event is complete.
    await expect.poll(() => stored().length, { timeout: 30_000, interval: 250 }).toBe(2);
    expect(stored()[1]).toMatch(/from 203\.0\.113\.2\nYou must define a domain called 'x'$/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(JSON.parse(out.trim().split('\n').pop() ?? '{}')).toMatchObject({ events: 2 });
  }, 90_000);

  it('a missing log group is exit 4 naming it', async () => {
    const r = await cloudjail(
      ['ship', ASTERISK, '--jail', 'asterisk', '--log-group', '/nope'],
      ROOT,
      env,
    );
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/\/nope/);
  });
});
