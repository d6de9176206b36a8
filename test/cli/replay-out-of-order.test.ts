/**
 * Issue 15.4: out-of-order logs. A log whose 2015 block is followed by a 2012 block (rotated files
 * concatenated, a restored backup) must date each ban by its own failures, through the spawned
 * `cloudjail replay`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cloudjail, lastJson, tempDir } from './cli-process.js';

const tmp = tempDir('replay-order');

/** A FreeSWITCH (>= 1.10.7) auth failure at `date` (`YYYY-MM-DD HH:MM:SS`) from `ip`. */
function fsFailure(date: string, ip: string): string {
  return `${date}.000100 98.10% [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'external' for [100@198.51.100.5] from ip ${ip}`;
}

/** `n` failures of `ip` one second apart from `day hh:mm:1x`. */
function burst(dayHhmm: string, ip: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => fsFailure(`${dayHhmm}:${10 + i}`, ip));
}

describe('cloudjail replay on out-of-order logs', () => {
  const log = join(tmp, 'out-of-order.log');
  writeFileSync(
    log,
    `${[...burst('2015-01-28 05:45', '203.0.113.15', 5), ...burst('2012-03-04 10:20', '198.51.100.12', 5)].join('\n')}\n`,
  );
  const args = ['replay', log, '--filter', 'freeswitch[mode=normal]'];

  it('each ban carries the time of the failures that triggered it', async () => {
    const r = await cloudjail([...args, '--no-progress']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[2015-01-28 05:45:14Z\] ban 203\.0\.113\.15 \[\w+\]/m);
    // Not "at 2015-01-28 05:45:14Z": the 2012 attacker failed in 2012.
    expect(r.stdout).toMatch(/^\[2012-03-04 10:20:14Z\] ban 198\.51\.100\.12 \[\w+\]/m);
    expect(r.stdout).not.toMatch(/^\[2015[^\n]*198\.51\.100\.12/m);
  });

  it('--json: both banned; at the log end only the 2015 ban is still in force', async () => {
    const r = await cloudjail([...args, '--json']);
    expect(r.code).toBe(0);
    const out = lastJson(r) as { banned: string[]; nacl: { cidr: string }[] };
    expect([...out.banned].sort()).toEqual(['198.51.100.12', '203.0.113.15']);
    // The 2012 ban (10 minutes) ended in 2012; the log ends in 2015 minutes after the 2015 ban.
    expect(out.nacl.map((e) => e.cidr)).toEqual(['203.0.113.15/32']);
  });
});
