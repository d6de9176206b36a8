/**
 * The built-in filters through cloudjail's engine on sample files (fail2ban's rules, via the
 * shared harness): fail2ban's upstream samples for freeswitch/asterisk, where `{}` means the
 * filter file's defaults (FreeSWITCH mode `extra` in fail2ban; ours defaults to `normal`, so the
 * samples run with a freeswitch.local setting extra), and our own samples covering every entry of
 * the log-format catalogue, including the ANSI/JSON lines only cloudjail can read.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FilterFileSource } from '../../../lambda/core/filters/index.js';
import { runSampleFile } from '../../helpers/sample-harness.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const FILTER_DIR = join(ROOT, 'filter.d');
const FIXTURES = join(ROOT, 'test/fixtures/logs');
const CORPUS = resolve(ROOT, '../shared/corpus/fail2ban-samples');

/**
 * The filter files, plus a `freeswitch.local` setting `mode = extra`: the sample files' `{}` option
 * set means fail2ban's file default (extra), while our file defaults to normal (issue 14).
 */
const EXTRA_MODE_LOCAL = '[Definition]\nmode = extra\n';
const files: FilterFileSource = {
  read: (path) =>
    path === join(FILTER_DIR, 'freeswitch.local')
      ? EXTRA_MODE_LOCAL
      : existsSync(path)
        ? readFileSync(path, 'utf8')
        : undefined,
};

describe('built-in filters on sample files (cloudjail engine)', () => {
  it.each(['freeswitch', 'asterisk'])("meet every expectation of fail2ban's %s samples", (name) => {
    const r = runSampleFile(join(CORPUS, name), { files, filterDir: FILTER_DIR });
    expect(r.problems).toEqual([]);
    expect(r.checked).toBeGreaterThanOrEqual(name === 'freeswitch' ? 21 : 48);
  });

  it.each([
    ['freeswitch', 'freeswitch', 90],
    ['asterisk', 'asterisk', 64],
    ['freeswitch-cloudjail', 'freeswitch', 108],
    ['asterisk-cloudjail', 'asterisk', 70],
  ])('meet every expectation of our %s samples', (file, filterName, checked) => {
    const r = runSampleFile(join(FIXTURES, file), { files, filterDir: FILTER_DIR, filterName });
    expect(r.problems).toEqual([]);
    // line × option-set checks: every sample line was really run
    expect(r.checked).toBe(checked);
  });

  it('report a wrong expected address (the harness can fail)', () => {
    const original = readFileSync(join(FIXTURES, 'asterisk'), 'utf8');
    const broken = original.replace(
      '"host": "2001:db8:c0de:bad::9"',
      '"host": "2001:db8:c0de:bad::9:5060"',
    );
    expect(broken).not.toBe(original);
    const path = join(mkdtempSync(join(tmpdir(), 'cj-samples-')), 'asterisk');
    writeFileSync(path, broken);
    const r = runSampleFile(path, { files, filterDir: FILTER_DIR });
    expect(r.problems.join('\n')).toMatch(/2001:db8:c0de:bad::9/);
  });
});
