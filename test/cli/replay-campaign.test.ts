/**
 * Issue 11's measurement, end to end: a 2-day attack campaign (60 new attackers a day, generated
 * by bench/gen-attack-campaign.py, python3, inside the test) replayed with
 * the seed jail bans 100 addresses; the NACL tier holds a few dozen and reports the rest not
 * enforced, while the published ban list (read back from the local S3 API) holds all 100, and
 * none of them is allowlisted.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CidrSet, parseCidr } from '../../lambda/core/ip-address.js';
import { CLI, ROOT, tempDir } from './cli-process.js';

/** The campaign generator (a copy of the project's shared bench tool, deterministic per seed). */
const GENERATOR = join(ROOT, 'bench/gen-attack-campaign.py');

interface ReplayJson {
  readonly banned: string[];
  readonly nacl: { cidr: string }[];
  readonly notEnforced: number;
  readonly published: string[];
}

describe('replay of a 2-day campaign: both tiers', () => {
  it('publishes all 100 bans while the NACL reports its overflow', {
    timeout: 900_000,
  }, async () => {
    const log = join(tempDir('campaign'), 'campaign.log');
    writeFileSync(
      log,
      execFileSync('python3', [GENERATOR, '--days', '2', '--per-day', '60'], {
        maxBuffer: 64 << 20,
      }),
    );
    // The CLI itself, spawned, with a timeout for a loaded machine (a 10 MB log, ~68k lines).
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        CLI,
        'replay',
        log,
        '--filter',
        'freeswitch[mode=normal]',
        '--maxretry',
        '5',
        '--findtime',
        '1h',
        '--bantime',
        '72h',
        '--json',
      ],
      {
        cwd: ROOT,
        timeout: 800_000,
        maxBuffer: 16 << 20,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
    );
    const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ReplayJson;
    expect(out.banned).toHaveLength(100);
    const host = (ip: string) => parseCidr(ip)!.text;
    expect(out.published).toEqual(out.banned.map(host).sort());
    // The NACL tier: 18 IPv4 + up to 18 IPv6 entries, the rest reported, never silently dropped.
    expect(out.nacl.length).toBeLessThanOrEqual(36);
    expect(out.notEnforced).toBe(100 - out.nacl.length);
    expect(out.notEnforced).toBeGreaterThan(50);
    const config = JSON.parse(readFileSync(join(ROOT, 'samples/cloudjail.json'), 'utf8')) as {
      ignoreip: string[];
    };
    const allow = CidrSet.parse(config.ignoreip).set;
    for (const cidr of out.published) expect(allow.has(cidr.split('/')[0]!), cidr).toBe(false);
  });
});
