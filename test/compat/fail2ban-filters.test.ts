/**
 * fail2ban compatibility: with Debian's fail2ban installed, every filter in /etc/fail2ban/filter.d
 * loads unchanged in cloudjail's engine, and every sample log of fail2ban's own test suite passes
 * with its original filter under fail2ban's sample-test rules (test/helpers/sample-harness.ts).
 *
 * Skipped, with the reason, when fail2ban is absent — but CI sets CLOUDJAIL_REQUIRE_FAIL2BAN=1,
 * which turns the absence into a failure.
 */
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeFilterFiles } from '../../lambda/adapters/filter-files.js';
import { loadFilter } from '../../lambda/core/filters/index.js';
import { runSampleFile } from '../helpers/sample-harness.js';

const FILTER_DIR = '/etc/fail2ban/filter.d';
const LOGS = '/usr/lib/python3/dist-packages/fail2ban/tests/files/logs';
const installed = existsSync(FILTER_DIR) && existsSync(LOGS);
const required = process.env.CLOUDJAIL_REQUIRE_FAIL2BAN === '1';

/** Filters we do not expect to pass, with the reason. Empty: all of them pass. */
const EXCEPTIONS: Readonly<Record<string, string>> = {};

/**
 * Filters the engine refuses to load, with the reason: a regex that can take exponential time on
 * a hostile line and that V8's linear-time engine cannot run (see core/filters/backtracking.ts).
 * exim's `(?:"+[^"]*(?="))*?` splits a run of quotes in 2^n ways: in fail2ban too (22 quotes cost
 * Python 0.4 s, each 2 more quadruple it).
 */
const REFUSED: Readonly<Record<string, RegExp>> = { exim: /failregex line 6: .*exponential/ };

const filters = installed
  ? readdirSync(FILTER_DIR)
      .filter((f) => f.endsWith('.conf') && !f.endsWith('common.conf') && !f.startsWith('.'))
      .map((f) => f.slice(0, -5))
      .sort()
  : [];

describe('Debian fail2ban is available for the compatibility suite', () => {
  it.runIf(required)('is installed (CLOUDJAIL_REQUIRE_FAIL2BAN=1)', () => {
    expect(installed, `${FILTER_DIR} and ${LOGS} must exist: apt-get install -y fail2ban`).toBe(
      true,
    );
  });
});

describe.skipIf(!installed)(`fail2ban's filters (${FILTER_DIR})`, () => {
  it('has a meaningful number of filters to check', () => {
    expect(filters.length).toBeGreaterThan(50);
  });

  it.each(filters)('%s loads unchanged', (name) => {
    const refused = REFUSED[name];
    if (refused) {
      expect(() => loadFilter(name, { files: nodeFilterFiles, filterDir: FILTER_DIR })).toThrow(
        refused,
      );
      return;
    }
    const filter = loadFilter(name, { files: nodeFilterFiles, filterDir: FILTER_DIR });
    expect(filter.failregex.length).toBeGreaterThan(0);
  });

  const withSamples = filters.filter((n) => existsSync(`${LOGS}/${n}`) && !REFUSED[n]);
  it.each(withSamples)('%s passes its fail2ban sample log', (name) => {
    const result = runSampleFile(`${LOGS}/${name}`, {
      files: nodeFilterFiles,
      filterDir: FILTER_DIR,
    });
    if (EXCEPTIONS[name]) return;
    expect(result.checked).toBeGreaterThan(0);
    expect(result.problems).toEqual([]);
  });

  it('freeswitch and asterisk are among the passing filters', () => {
    expect(withSamples).toEqual(expect.arrayContaining(['freeswitch', 'asterisk']));
    expect(EXCEPTIONS.freeswitch).toBeUndefined();
    expect(EXCEPTIONS.asterisk).toBeUndefined();
  });
});
