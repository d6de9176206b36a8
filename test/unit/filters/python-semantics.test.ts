/**
 * The Python → JavaScript regex translation keeps Python 3 `re` semantics (str patterns):
 * generated (regex, text) pairs are searched by a real python3 process and by our translation,
 * and the matches must be the same (span and first group). Covers `.`, `\s \S \d \D \w \W`,
 * `\b \B`, `$`, `\Z`, classes (negated, with escapes inside) and MULTILINE anchors, over an
 * alphabet holding the characters where the two engines differ (CR, U+2028, U+2029, U+0085,
 * U+001C, U+FEFF). `\d \w \b` are ASCII by design (see regex.ts): non-ASCII letters and digits
 * are only drawn for patterns without them.
 */
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePythonRegex, execRegex } from '../../../lambda/core/filters/regex.js';

const ALPHABET = [
  'a',
  'Z',
  '0',
  '7',
  '_',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u2028',
  '\u2029',
  '\u0085',
  '\u001c',
  '\u00a0',
  '\ufeff',
  '-',
  '.',
  ']',
  '!',
];

const ATOMS = [
  '.',
  '\\s',
  '\\S',
  '\\d',
  '\\D',
  '\\w',
  '\\W',
  'a',
  '0',
  ' ',
  '\\.',
  '[a\\s]',
  '[^\\d.]',
  '[\\S]',
  '[^\\W]',
  '[^a\\S]',
  '[\\w\\-.]',
  '[^\\s\\]]',
  '[\\D_]',
  '[^\\S\\D]',
];
const QUANTS = ['', '', '*', '+', '?', '{1,3}', '*?'];
const ANCHORS_BEFORE = ['', '', '^', '\\b', '\\B'];
const ANCHORS_AFTER = ['', '', '$', '\\Z', '\\b', '\\B'];

const piece = fc
  .tuple(fc.constantFrom(...ATOMS), fc.constantFrom(...QUANTS))
  .map(([a, q]) => a + q);
const pattern = fc
  .tuple(
    fc.constantFrom(...ANCHORS_BEFORE),
    fc.array(piece, { minLength: 1, maxLength: 4 }),
    fc.constantFrom(...ANCHORS_AFTER),
    fc.boolean(),
  )
  .map(([b, ps, a, group]) => (group ? `${b}(${ps.join('')})${a}` : `${b}${ps.join('')}${a}`));
/** Letters and digits Python's Unicode `\w`/`\d` take and ours (ASCII) do not. */
const NON_ASCII_WORD = ['\u0663', '\u00e9', '\u4e2d'];
const text = fc
  .array(fc.constantFrom(...ALPHABET, ...NON_ASCII_WORD), { maxLength: 12 })
  .map((cs) => cs.join(''));

interface Case {
  pattern: string;
  text: string;
  multiline: boolean;
}

/** Searches every case with Python's `re`: [start, end, group 1 or null] or null. */
function pythonResults(cases: readonly Case[]): ([number, number, string | null] | null)[] {
  const script = [
    'import json, re, sys',
    'out = []',
    'for c in json.load(sys.stdin):',
    '    m = re.search(c["pattern"], c["text"], re.M if c["multiline"] else 0)',
    '    out.append(None if m is None else [m.start(), m.end(), m.group(1) if m.re.groups else None])',
    'json.dump(out, sys.stdout)',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ([number, number, string | null] | null)[];
}

function ours(c: Case): [number, number, string | null] | null {
  const compiled = compilePythonRegex(c.pattern, {}, { multiline: c.multiline });
  const m = execRegex(compiled, c.text);
  if (!m) return null;
  const group = m.length > 1 ? (m[1] ?? null) : null;
  return [m.index, m.index + m[0].length, group];
}

describe('Python regex semantics (against python3)', () => {
  it('matches what Python matches, for generated regexes and texts', () => {
    const cases = fc.sample(
      fc.record({ pattern, text, multiline: fc.boolean() }).map((c) => {
        // Python's `$` (not MULTILINE) also matches before a final newline; the engine never
        // gives a non-multiline regex text holding a newline (events are split into lines).
        let t = c.text;
        if (!c.multiline) t = t.replace(/\n/g, 'a');
        if (/\\[wWdDbB]/.test(c.pattern)) t = t.replace(/[\u0663\u00e9\u4e2d]/g, '_');
        return { ...c, text: t };
      }),
      { numRuns: 4000, seed: 1207 },
    );
    const expected = pythonResults(cases);
    const mismatches = cases
      .map((c, i) => ({ ...c, python: expected[i], ours: ours(c) }))
      .filter((r) => JSON.stringify(r.python) !== JSON.stringify(r.ours));
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(mismatches.length).toBe(0);
  });

  it('repeats a whole multi-character escape', () => {
    for (const [pattern, text] of [
      ['^\\x41{2}$', 'AA'],
      ['^\\u0042{3}$', 'BBB'],
      ['^a\\x41{1,3}$', 'aAAA'],
    ] as const) {
      expect(execRegex(compilePythonRegex(pattern, {}), text)?.[0], pattern).toBe(text);
    }
    expect(execRegex(compilePythonRegex('^\\x41{2}$', {}), 'A1')).toBeNull();
  });

  it('keeps `.` matching CR, U+2028 and U+2029, and `.`/`\\s` never crossing a newline', () => {
    const re = compilePythonRegex('^user (?P<user>.+) from (?P<ip>\\S+)$', {});
    for (const odd of ['\r', '\u2028', '\u2029', '\u0085']) {
      const m = execRegex(re, `user a${odd}b from 192.0.2.1`);
      expect(m?.groups?.ip, JSON.stringify(odd)).toBe('192.0.2.1');
    }
    const ml = compilePythonRegex('^a.b$', {}, { multiline: true });
    expect(execRegex(ml, 'a\nb')).toBeNull();
    // JavaScript's multiline `$` also matches before U+2028; Python's does not.
    const end = compilePythonRegex('^from (?P<ip>[\\d.]+)$', {}, { multiline: true });
    expect(execRegex(end, 'from 198.51.100.7\u2028 from 203.0.113.5')).toBeNull();
  });
});
