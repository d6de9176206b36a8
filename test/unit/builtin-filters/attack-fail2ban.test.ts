/**
 * Property test with fail2ban itself as the regex oracle: for random attacker text in every
 * attacker-controlled field, our filters (after cloudjail's preprocessing) make Debian's fail2ban
 * extract exactly the server-written address or nothing. All samples are evaluated in one
 * python process (fast); the seed is fixed so a failure is reproducible.
 * The same cases run through cloudjail's own engine in attack-engine.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { preprocessEvent } from '../../../lambda/core/filters/preprocess.js';
import { ATTACK_CASES, type AttackCase, attackerText, realAddress } from './attack-cases.js';
import { EVENT_CASES, ISSUE14_CASES } from './injection-cases.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const SCRIPT = resolve(import.meta.dirname, 'fail2ban-extract.py');
const PYTHON = '/usr/bin/python3';
const RUNS = 150;
const SEED = 20260409;

const hasFail2ban =
  spawnSync(PYTHON, ['-c', 'import fail2ban.tests.samplestestcase'], { encoding: 'utf8' })
    .status === 0;

interface Probe {
  readonly c: AttackCase;
  readonly attacker: string;
  readonly real: string;
  readonly line: string | undefined;
}

/** Runs fail2ban on the probes of one filter; returns the extracted ids per probe. */
function oracle(filter: string, probes: readonly Probe[]): string[][] {
  const input = probes
    .map((p) => JSON.stringify({ line: p.line ?? '', opts: p.c.options ?? {} }))
    .join('\n');
  const r = spawnSync(PYTHON, [SCRIPT, ROOT, filter], {
    input,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`fail2ban-extract failed: ${r.stderr}`);
  const lines = r.stdout.trimEnd().split('\n');
  return lines.slice(lines.length - probes.length).map((l) => JSON.parse(l) as string[]);
}

function probesFor(c: AttackCase, index: number): Probe[] {
  const samples = fc.sample(fc.tuple(attackerText, realAddress), {
    numRuns: RUNS,
    seed: SEED + index,
  });
  // Always include harmless text, to prove the template matches at all.
  samples.unshift(['x', '192.0.2.1'], ['x', '2001:db8::1']);
  return samples.map(([attacker, real]) => {
    // What the engine would match: the first physical line after ANSI/JSON preprocessing.
    const [line] = preprocessEvent(c.build(attacker, real), ['ansi', 'json', 'firstline']);
    return { c, attacker, real, line };
  });
}

describe.skipIf(!hasFail2ban)('attacker text never changes the address (fail2ban oracle)', () => {
  for (const filter of ['freeswitch', 'asterisk'] as const) {
    it(`${filter}: every field, ${RUNS} samples each`, () => {
      const cases = ATTACK_CASES.filter((c) => c.filter === filter);
      const probes = cases.flatMap((c) => probesFor(c, ATTACK_CASES.indexOf(c)));
      const results = oracle(filter, probes);
      expect(results).toHaveLength(probes.length);
      const bad: string[] = [];
      const matchedClean = new Set<string>();
      probes.forEach((p, i) => {
        const ids = results[i] ?? [];
        const ok = p.c.matchesClean ? ids.every((id) => id === p.real) : ids.length === 0;
        if (!ok) bad.push(`${p.c.name}: got ${JSON.stringify(ids)}, want ${p.real}\n  ${p.line}`);
        if (ids.length > 1) bad.push(`${p.c.name}: ${ids.length} regexes matched\n  ${p.line}`);
        if (p.attacker === 'x' && ids.length === 1) matchedClean.add(p.c.name);
      });
      expect(bad).toEqual([]);
      for (const c of cases.filter((c) => c.matchesClean)) {
        expect(matchedClean.has(c.name), `${c.name} must match harmless text`).toBe(true);
      }
    }, 120_000);
  }
});

describe.skipIf(!hasFail2ban)('named cases (fail2ban oracle)', () => {
  for (const filter of ['freeswitch', 'asterisk'] as const) {
    it(`${filter}: exact address per format and injection trick`, () => {
      const cases = [...EVENT_CASES, ...ISSUE14_CASES].filter((c) => c.filter === filter);
      const input = cases.map((c) => ({
        c,
        line: preprocessEvent(c.event, ['ansi', 'json', 'firstline'])[0],
      }));
      const results = oracle(
        filter,
        input.map(({ c, line }) => ({
          c: { ...ATTACK_CASES[0], options: c.options } as AttackCase,
          attacker: '',
          real: '',
          line,
        })),
      );
      const got = Object.fromEntries(cases.map((c, i) => [c.name, results[i]?.[0] ?? null]));
      const want = Object.fromEntries(cases.map((c) => [c.name, c.host]));
      expect(got).toEqual(want);
      for (const r of results) expect(r.length).toBeLessThanOrEqual(1);
    });
  }
});
