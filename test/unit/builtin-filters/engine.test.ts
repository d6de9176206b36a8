/**
 * The built-in filters through cloudjail's own engine: named cases (one per message format and
 * injection trick, exact address), the property "attacker text never changes the address", and
 * the filter shapes (modes, preprocessing).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Filter,
  type FilterFileSource,
  loadFilter,
} from '../../../lambda/core/filters/index.js';
import { normalizeHost } from '../../../lambda/core/ip-address.js';
import { ATTACK_CASES, attackerText, realAddress } from './attack-cases.js';
import { EVENT_CASES, ISSUE14_CASES } from './injection-cases.js';

const FILTER_DIR = join(resolve(import.meta.dirname, '../../..'), 'filter.d');
const NOW = Date.UTC(2024, 3, 10, 12, 0, 0);
const TIMESTAMP = Date.UTC(2024, 3, 9, 17, 0, 0);

const files: FilterFileSource = {
  read: (path) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined),
};

const cache = new Map<string, Filter>();
function filter(name: string, options?: Readonly<Record<string, string>>): Filter {
  const key = `${name}${JSON.stringify(options ?? {})}`;
  let f = cache.get(key);
  if (!f) {
    f = loadFilter(name, { files, filterDir: FILTER_DIR, jailOptions: options });
    cache.set(key, f);
  }
  return f;
}

/** Every failure host the engine reports for one event. */
function hosts(name: string, options: Readonly<Record<string, string>> | undefined, event: string) {
  const outcomes = filter(name, options)
    .createMatcher()
    .matchEvent(event, { now: NOW, timestamp: TIMESTAMP });
  return outcomes.flatMap((o) => o.failures.map((f) => f.host));
}

describe('built-in filters load', () => {
  it.each([
    ['freeswitch', undefined, 2],
    ['freeswitch', { mode: 'normal' }, 2],
    ['freeswitch', { mode: 'ddos' }, 1],
    ['freeswitch', { mode: 'extra' }, 2],
    ['asterisk', undefined, 10],
  ] as const)('%s %j has %i failregexes', (name, options, count) => {
    const f = filter(name, options);
    expect(f.failregex).toHaveLength(count);
    expect(f.prefregex).toMatch(/F-CONTENT|content/);
  });

  it('freeswitch defaults to mode normal (challenges do not count); extra and ddos are opt-in', () => {
    const challenge =
      "2024-04-09 17:09:01.000001 97.00% [WARNING] sofia_reg.c:1842 SIP auth challenge (REGISTER) on sofia profile 'internal' for [3109@tel.example.com] from ip 198.51.100.51";
    expect(hosts('freeswitch', undefined, challenge)).toEqual([]);
    expect(hosts('freeswitch', { mode: 'normal' }, challenge)).toEqual([]);
    expect(hosts('freeswitch', { mode: 'extra' }, challenge)).toEqual(['198.51.100.51']);
    expect(hosts('freeswitch', { mode: 'ddos' }, challenge)).toEqual(['198.51.100.51']);
  });
});

describe('named cases: exact address per format and injection trick', () => {
  it.each([...EVENT_CASES, ...ISSUE14_CASES].map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(hosts(c.filter, c.options, c.event)).toEqual(c.host === null ? [] : [c.host]);
  });
});

describe('property: attacker text never changes the extracted address', () => {
  for (const c of ATTACK_CASES) {
    it(c.name, () => {
      expect(hosts(c.filter, c.options, c.build('x', '192.0.2.1'))).toEqual(
        c.matchesClean ? ['192.0.2.1'] : [],
      );
      fc.assert(
        fc.property(attackerText, realAddress, (attacker, real) => {
          const got = hosts(c.filter, c.options, c.build(attacker, real));
          if (!c.matchesClean) return got.length === 0;
          return got.length <= 1 && got.every((h) => h === normalizeHost(real));
        }),
        { numRuns: 300 },
      );
    });
  }
});
