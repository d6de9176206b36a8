/**
 * Our built-in filters must also load and work in fail2ban itself (Debian's 1.0.2), so operators
 * can validate them with `fail2ban-regex`. These tests run fail2ban's own sample-log test
 * (samplestestcase: failJSON, filterOptions, exactly one regex per line, every regex has a
 * sample, greedy catch-all check) on our filter.d files. Skipped when fail2ban is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { preprocessEvent } from '../../../lambda/core/filters/preprocess.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const SCRIPT = join(import.meta.dirname, 'fail2ban-samples.py');
const FIXTURES = join(ROOT, 'test/fixtures/logs');
const CORPUS = resolve(ROOT, '../shared/corpus/fail2ban-samples');
const PYTHON = '/usr/bin/python3';

const hasFail2ban =
  spawnSync(PYTHON, ['-c', 'import fail2ban.tests.samplestestcase'], { encoding: 'utf8' })
    .status === 0;

/**
 * A configuration directory whose filter.d holds our filters plus a `freeswitch.local` setting
 * `mode = extra`: the sample files' `{}` option set means fail2ban's file default (extra), while
 * our file defaults to normal (issue 14). The fail2ban way: a .local beside the .conf.
 */
function extraModeBase(): string {
  const base = mkdtempSync(join(tmpdir(), 'cj-f2b-base-'));
  mkdirSync(join(base, 'filter.d'));
  for (const name of ['freeswitch.conf', 'asterisk.conf']) {
    symlinkSync(join(ROOT, 'filter.d', name), join(base, 'filter.d', name));
  }
  writeFileSync(join(base, 'filter.d', 'freeswitch.local'), '[Definition]\nmode = extra\n');
  return base;
}

function runSamples(logsDir: string, names: string[]) {
  const r = spawnSync(PYTHON, [SCRIPT, extraModeBase(), logsDir, ...names], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A temp `logs` dir holding the given files (the harness requires the name `logs`). */
function logsDir(files: Record<string, string>): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'cj-f2b-')), 'logs');
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

describe.skipIf(!hasFail2ban)('built-in filters in Debian fail2ban', () => {
  it('pass our own sample logs (every catalogue format fail2ban can read)', () => {
    const r = runSamples(FIXTURES, ['freeswitch', 'asterisk']);
    expect(r.output).toMatch(/Ran 2 tests/);
    expect(r.status, r.output).toBe(0);
  });

  it("pass fail2ban's upstream sample files (../shared/corpus), incl. idle-CPU lines", () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cj-f2b-')), 'logs');
    mkdirSync(dir);
    for (const name of ['freeswitch', 'asterisk']) symlinkSync(join(CORPUS, name), join(dir, name));
    const r = runSamples(dir, ['freeswitch', 'asterisk']);
    expect(r.status, r.output).toBe(0);
  });

  it('the harness does catch a wrong expected address', () => {
    const original = readFileSync(join(FIXTURES, 'freeswitch'), 'utf8');
    const broken = original.replace('"host": "192.0.2.170"', '"host": "198.51.100.99"');
    expect(broken).not.toBe(original);
    const r = runSamples(logsDir({ freeswitch: broken }), ['freeswitch']);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("'192.0.2.170' != '198.51.100.99'");
  });

  it('the harness does catch a line that must not match', () => {
    const line =
      "2024-04-09 17:05:44.918273 97.44% [WARNING] sofia_reg.c:1788 SIP auth failure (INVITE) on sofia profile 'external' for [1@x] from ip 192.0.2.151";
    const content = `# filterOptions: [{"mode": "normal"}]\n# failJSON: { "match": false }\n${line}\n`;
    const r = runSamples(logsDir({ freeswitch: content }), ['freeswitch']);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("Line matched when shouldn't have");
  });

  it('pass the cloudjail-only samples (ANSI, JSON) once preprocessed by cloudjail', () => {
    // fail2ban reads the lines our preprocessing produces; the main fixture is added so the
    // every-regex-has-a-sample rule holds.
    const files: Record<string, string> = {};
    for (const name of ['freeswitch', 'asterisk']) {
      const raw = readFileSync(join(FIXTURES, `${name}-cloudjail`), 'utf8');
      const converted = raw
        .split('\n')
        .filter((line) => !line.startsWith('# addFILE:'))
        .map((line) =>
          line.startsWith('#') || line.trim() === ''
            ? line
            : (preprocessEvent(line, ['ansi', 'json', 'firstline'])[0] ?? ''),
        );
      expect(converted.filter((l) => l.startsWith('{'))).toEqual([]);
      files[name] = `${converted.join('\n')}\n# addFILE: "${name}-main"\n`;
      files[`${name}-main`] = readFileSync(join(FIXTURES, name), 'utf8');
    }
    const r = runSamples(logsDir(files), ['freeswitch', 'asterisk']);
    expect(r.status, r.output).toBe(0);
  });
});
