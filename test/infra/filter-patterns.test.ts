/**
 * The subscription filter patterns must never drop a real failure: every line the sample logs
 * mark `"match": true` (fail2ban's and ours) must pass the pattern of its filter.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadBuiltinOrFileFilter } from '../../lambda/adapters/filter-files.js';
import {
  candidateWords,
  extensionWords,
  filterBaseName,
  patternMatches,
  specWords,
  subscriptionFilterPattern,
} from '../../lib/filter-patterns.js';
import { ISSUE14_CASES } from '../unit/builtin-filters/injection-cases.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FAIL2BAN_LOGS = '/usr/lib/python3/dist-packages/fail2ban/tests/files/logs';

/** Lines preceded by a `# failJSON: {... "match": true ...}` marker. */
function failingLines(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const result: string[] = [];
  for (let i = 0; i < lines.length - 1; i++) {
    const marker = /^#\s*failJSON:\s*(\{.*\})\s*$/.exec(lines[i]!);
    if (!marker) continue;
    let json: { match?: boolean };
    try {
      json = JSON.parse(marker[1]!) as { match?: boolean };
    } catch {
      continue;
    }
    if (json.match === true) result.push(lines[i + 1]!);
  }
  return result;
}

const SAMPLES: Record<string, string[]> = {
  freeswitch: [
    join(PROJECT_ROOT, 'test/fixtures/logs/freeswitch'),
    join(PROJECT_ROOT, 'test/fixtures/logs/freeswitch-cloudjail'),
    join(FAIL2BAN_LOGS, 'freeswitch'),
  ],
  asterisk: [
    join(PROJECT_ROOT, 'test/fixtures/logs/asterisk'),
    join(PROJECT_ROOT, 'test/fixtures/logs/asterisk-cloudjail'),
    join(FAIL2BAN_LOGS, 'asterisk'),
  ],
};

describe('subscription filter patterns', () => {
  for (const [filter, files] of Object.entries(SAMPLES)) {
    it(`${filter}: lets through every sample line that is a failure`, () => {
      const pattern = subscriptionFilterPattern([`${filter}[mode=extra]`]);
      expect(pattern).toMatch(/^%[A-Za-z|]+%$/);
      const present = files.filter(existsSync);
      expect(present.length).toBeGreaterThan(0);
      let checked = 0;
      for (const file of present) {
        for (const line of failingLines(file)) {
          checked++;
          expect(patternMatches(pattern, line), `${file}: ${line}`).toBe(true);
        }
      }
      expect(checked).toBeGreaterThan(10);
    });
  }

  it('drops obvious noise for the built-ins', () => {
    const fs = subscriptionFilterPattern(['freeswitch']);
    expect(patternMatches(fs, '2024-04-09 17:06:12.000300 [INFO] mod_dialplan_xml.c:637 x')).toBe(
      false,
    );
    const ast = subscriptionFilterPattern(['asterisk']);
    expect(patternMatches(ast, '[2024-04-09 17:10:03] VERBOSE[1] pbx.c: Executing Dial')).toBe(
      false,
    );
  });

  it('uses no pattern for user filter files or unknown filters', () => {
    expect(candidateWords('./filters/my-sbc.conf[mode=x]')).toBeUndefined();
    expect(candidateWords('kamailio')).toBeUndefined();
    expect(subscriptionFilterPattern(['freeswitch', 'my.conf'])).toBe('');
    expect(subscriptionFilterPattern([])).toBe('');
  });

  it('merges the words of several jails on one log group into one pattern', () => {
    const merged = subscriptionFilterPattern(['freeswitch[mode=ddos]', 'asterisk']);
    expect(merged.startsWith('%') && merged.endsWith('%')).toBe(true);
    expect(merged.match(/registration/g)).toHaveLength(1);
    expect(filterBaseName('freeswitch[mode=ddos]')).toBe('freeswitch');
  });

  it('stays within the CloudWatch Logs regex dialect (no groups, allowed characters only)', () => {
    for (const name of ['freeswitch', 'asterisk']) {
      const body = subscriptionFilterPattern([name]).slice(1, -1);
      expect(body).toMatch(/^[A-Za-z0-9:_#=@/;,\-^$?[\]{}|\\*+.]+$/);
      expect(body).not.toMatch(/[()]/);
    }
  });
});

describe('subscription filter patterns: issue 14 lines and extended built-ins', () => {
  it('keeps every new line shape the built-ins match (FreePBX tag, rsyslog escapes, ACL)', () => {
    for (const c of ISSUE14_CASES.filter((x) => x.host !== null)) {
      const pattern = subscriptionFilterPattern([c.filter]);
      expect(patternMatches(pattern, c.event), c.name).toBe(true);
    }
  });

  const CDR_LOCAL = join(
    PROJECT_ROOT,
    'test/fixtures/fail2ban-configs/freeswitch-cdr/filter.d/freeswitch.local',
  );
  const cdr = '"FAIL2BAN_HOST=198.51.100.31","2024-11-05 10:00:01","1001"';

  it('an extended freeswitch keeps the lines its .local adds (the CDR line has neither built-in word)', () => {
    expect(patternMatches(subscriptionFilterPattern(['freeswitch']), cdr)).toBe(false);
    const spec = `${CDR_LOCAL}[mode=normal]`;
    const words = specWords(spec, PROJECT_ROOT);
    expect(words).toEqual(['sofia', 'registration', 'FAIL']);
    const pattern = subscriptionFilterPattern([spec], (s) => specWords(s, PROJECT_ROOT));
    expect(patternMatches(pattern, cdr)).toBe(true);
    // Still a pre-selection: noise is dropped.
    expect(patternMatches(pattern, '"ANSWER","2024-11-05 10:00:01","1001"')).toBe(false);
    // Every line the extended filter matches passes (the engine is the oracle).
    const filter = loadBuiltinOrFileFilter(spec);
    const matcher = filter.createMatcher();
    const lines = [
      cdr,
      ...ISSUE14_CASES.filter((c) => c.filter === 'freeswitch').map((c) => c.event),
    ];
    for (const line of lines) {
      const matched = matcher
        .matchEvent(line, { now: Date.UTC(2024, 10, 5), timestamp: Date.UTC(2024, 10, 5) })
        .some((o) => o.failures.length > 0);
      if (matched) expect(patternMatches(pattern, line), line).toBe(true);
    }
  });

  it('no pre-selection when an added regex has no word to prove it (or the spec is not a built-in)', () => {
    const load = (regexes: string[]) => (s: string) => ({
      failregex: s.startsWith('freeswitch') ? ['^own <HOST>$'] : ['^own <HOST>$', ...regexes],
    });
    expect(extensionWords('/x/freeswitch.local', load(['^<HOST> \\d+$']))).toBeUndefined();
    expect(extensionWords('/x/freeswitch.local', load(['^.. <HOST>$']))).toBeUndefined();
    expect(extensionWords('/x/freeswitch.local', load(['^Denied <HOST>$']))).toEqual([
      'sofia',
      'registration',
      'Denied',
    ]);
    // A level name only the json preprocessing writes is never a word.
    expect(extensionWords('/x/freeswitch.local', load(['^\\[WARNING\\] <HOST>$']))).toBeUndefined();
    expect(extensionWords('/x/sshd.local', load(['^Denied <HOST>$']))).toBeUndefined();
    expect(specWords('/x/sshd.conf', PROJECT_ROOT)).toBeUndefined();
  });
});
