/**
 * `cloudjail regex` with what fail2ban users type: a literal failregex (and ignoreregex), a user
 * filter that extends a built-in through `before = asterisk.conf` and `%(known/failregex)s`, and
 * CloudWatch events holding several physical lines. Spawned CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'cli/cloudjail.js');
const tmp = mkdtempSync(join(tmpdir(), 'cloudjail-regex-custom-'));

function cloudjail(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SEED =
  'NOTICE.* .*: Incoming SIP connection from unknown peer failed for <HOST> - Unknown connection from peer';
/** A dialplan Log(NOTICE, ...) line: Asterisk prints lwp -1 for it. */
const DIALPLAN = (ip: string) =>
  `[2024-04-09 17:10:01] NOTICE[-1][C-00000002]: Ext. s:1 in from-sip-external: Incoming SIP connection from unknown peer failed for ${ip} - Unknown connection from peer`;

const LOG = join(tmp, 'asterisk.log');
writeFileSync(
  LOG,
  `${[
    DIALPLAN('203.0.113.50'),
    DIALPLAN('198.51.100.60'),
    "[2024-04-09 17:10:02] NOTICE[5120] chan_sip.c: Registration from '<sip:1@x>' failed for '203.0.113.51:5060' - Wrong password",
  ].join('\n')}\n`,
);

describe('cloudjail regex with custom failregexes', () => {
  it('takes a literal failregex, as fail2ban-regex does', () => {
    const r = cloudjail(['regex', LOG, SEED]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Use      failregex line : ${SEED}`);
    expect(r.stdout).toContain('Lines: 3 lines, 0 ignored, 2 matched, 1 missed');
    const json = cloudjail(['regex', '--json', LOG, SEED]);
    const hosts = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { host?: string })
      .flatMap((o) => (o.host ? [o.host] : []));
    expect(hosts).toEqual(['203.0.113.50', '198.51.100.60']);
  });

  it('takes a literal ignoreregex as third argument', () => {
    const r = cloudjail(['regex', LOG, SEED, 'for 198\\.51\\.100\\.60 ']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Lines: 3 lines, 1 ignored, 1 matched, 1 missed');
  });

  it('a literal line and a literal failregex', () => {
    const r = cloudjail(['regex', DIALPLAN('192.0.2.9'), SEED]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 matched');
  });

  it('still names an unknown filter as such', () => {
    const r = cloudjail(['regex', LOG, 'asterix']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown filter 'asterix'/);
  });

  it('resolves before = asterisk.conf from the built-ins; the built-in accepts NOTICE[-1]', () => {
    const dir = mkdtempSync(join(tmp, 'filters-'));
    writeFileSync(
      join(dir, 'my-asterisk.conf'),
      `[INCLUDES]\nbefore = asterisk.conf\n\n[Definition]\nfailregex = %(known/failregex)s\n            ^${SEED}$\n`,
    );
    // A relative path, from the directory it is in.
    const r = cloudjail(['regex', '--json', LOG, 'my-asterisk.conf'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const hosts = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { host?: string })
      .flatMap((o) => (o.host ? [o.host] : []));
    expect(hosts).toEqual(['203.0.113.50', '198.51.100.60', '203.0.113.51']);
  });

  it('--events: every physical line of an event is counted', () => {
    const events = join(tmp, 'events.jsonl');
    const message =
      "2024-04-09 17:06:40.660000 98.70% [WARNING] sofia_reg.c:3210 Can't find user [3107@198.51.100.50] from 192.0.2.158\nrecv 512 bytes from udp/[192.0.2.158]:5060 at 17:06:40.660000:\n   REGISTER sip:198.51.100.50 SIP/2.0";
    writeFileSync(events, `${JSON.stringify({ message, timestamp: 1712682400660 })}\n`);
    const r = cloudjail(['regex', '--events', events, 'freeswitch[mode=normal]']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Lines: 3 lines, 0 ignored, 1 matched, 2 missed');
  });
});
