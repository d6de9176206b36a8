/**
 * `cloudjail regex --jobs N` on a log file cut into pieces (a tiny split threshold makes small
 * logs split): stdout must be byte for byte the one-thread run's (but the processing time), in
 * human and `--json` mode, whatever the cuts fall on. CLOUDJAIL_REGEX_DEBUG makes each run say on
 * stderr how it cut the log and where each piece's result came from, so the tests can check that
 * the paths they are about were taken.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CliResult, cloudjail, ROOT, tempDir } from './cli-process.js';

const tmp = tempDir('regex-parallel');
const NOW = '2024-05-01T00:00:00Z';
const SPLIT = { CLOUDJAIL_REGEX_SPLIT_BYTES: '1', CLOUDJAIL_REGEX_DEBUG: '1' };

const masked = (r: CliResult) => r.stdout.replace(/\[processed in [\d.]+ sec\]/, '[processed]');

/** The cuts a run reports: byte offsets where a piece starts. */
function cutsOf(r: CliResult): number[] {
  const plan = /pieces (.*)/.exec(r.stderr)?.[1] ?? '';
  return [...plan.matchAll(/\[(\d+), (?:\d+|Infinity)\)/g)]
    .map((m) => Number(m[1]))
    .filter((n) => n > 0);
}

/**
 * Runs `regex <args>` with one thread and with each of `jobs`, and expects the same output.
 * Returns the multi-thread runs.
 */
async function expectSameOutput(
  args: readonly string[],
  jobs: readonly number[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult[]> {
  const [one, ...many] = await Promise.all([
    cloudjail(['regex', '--jobs', '1', '--now', NOW, ...args], undefined, { ...SPLIT, ...env }),
    ...jobs.map((j) =>
      cloudjail(['regex', '--jobs', String(j), '--now', NOW, ...args], undefined, {
        ...SPLIT,
        ...env,
      }),
    ),
  ]);
  expect(one?.code, one?.stderr).toBe(0);
  expect(one?.stderr).toBe('');
  for (const r of many) {
    expect(r.code, r.stderr).toBe(0);
    expect(masked(r)).toBe(masked(one as CliResult));
  }
  return many;
}

// A FreeSWITCH log of blocks of lines: dated and undated failures and noise, runs of comments,
// blank and CR-only lines, CRLF lines, non-ASCII lines, and syslog-dated lines (another date
// template of the built-in filter's datepattern).
type Block =
  | { kind: 'failure' | 'noise' | 'syslog' | 'utf8' | 'crlf'; ip: number }
  | { kind: 'undated'; count: number; fail: boolean; ip: number }
  | { kind: 'skip'; lines: readonly ('comment' | 'blank' | 'cr')[]; width: number };

const blockArb: fc.Arbitrary<Block> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('failure' as const, 'noise' as const, 'noise' as const),
      ip: fc.nat(250),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom('syslog' as const, 'utf8' as const, 'crlf' as const),
      ip: fc.nat(250),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('undated' as const),
      count: fc.integer({ min: 1, max: 4 }),
      fail: fc.boolean(),
      ip: fc.nat(250),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('skip' as const),
      lines: fc.array(fc.constantFrom('comment' as const, 'blank' as const, 'cr' as const), {
        minLength: 2,
        maxLength: 6,
      }),
      // Long comments: cuts land in runs of skipped lines.
      width: fc.integer({ min: 0, max: 400 }),
    }),
  },
);

function renderLog(blocks: readonly Block[]): string {
  let t = Date.UTC(2024, 3, 9, 17, 0, 0);
  const date = () => {
    t += 1500;
    return new Date(t).toISOString().replace('T', ' ').replace('Z', '000');
  };
  const syslogDate = () => {
    t += 1000;
    const d = new Date(t);
    return `Apr ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)}`;
  };
  const fail = (ip: number, method = 'REGISTER') =>
    `[WARNING] sofia_reg.c:1842 SIP auth failure (${method}) on sofia profile 'internal' for [10${ip}@pbx] from ip 203.0.113.${ip}`;
  const out: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case 'failure':
        out.push(`${date()} 97.44% ${fail(b.ip)}\n`);
        break;
      case 'noise':
        out.push(`${date()} 91.20% [DEBUG] sofia.c:7493 Channel ${b.ip} entering state\n`);
        break;
      case 'syslog':
        out.push(`${syslogDate()} sbc freeswitch[42]: ${fail(b.ip, 'INVITE')}\n`);
        break;
      case 'utf8':
        out.push(`${date()} 90.00% [DEBUG] sofia.c:1 Müller 東京 ✓ Ωmega ${b.ip}\n`);
        break;
      case 'crlf':
        out.push(`${date()} 97.44% ${fail(b.ip)}\r\n`);
        break;
      case 'undated':
        for (let i = 0; i < b.count; i++) {
          out.push(
            b.fail && i === 0 ? `${fail(b.ip, 'INVITE')}\n` : `    at frame ${i} → détail\n`,
          );
        }
        break;
      case 'skip':
        for (const l of b.lines) {
          out.push(
            l === 'comment' ? `# rotated ${'='.repeat(b.width)}\n` : l === 'blank' ? '\n' : '\r\n',
          );
        }
        break;
    }
  }
  return out.join('');
}

/** The physical lines of `log` (without `\n`) and the byte offset each starts at. */
function linesAt(log: string): Map<number, string> {
  const at = new Map<number, string>();
  let offset = 0;
  for (const line of log.split('\n')) {
    at.set(offset, line);
    offset += Buffer.byteLength(line) + 1;
  }
  return at;
}

const skipped = (line: string | undefined) =>
  line !== undefined && (line === '' || line === '\r' || line.startsWith('#'));

describe('cloudjail regex --jobs: a log file matched in pieces', () => {
  it('prints what one thread prints, wherever the cuts fall (generated logs)', async () => {
    const logs = fc.sample(fc.array(blockArb, { minLength: 120, maxLength: 200 }), {
      seed: 20240409,
      numRuns: 2,
    });
    let cutsInSkipRuns = 0;
    let undatedCuts = 0;
    let rematched = 0;
    let carriedTimeRead = 0;
    for (const [i, blocks] of logs.entries()) {
      const text = renderLog(blocks);
      const log = join(tmp, `gen-${i}.log`);
      writeFileSync(log, text);
      const lines = linesAt(text);
      const before = (cut: number) => {
        let line: string | undefined;
        for (const [offset, l] of lines) if (offset < cut) line = l;
        return line;
      };
      const human = await expectSameOutput(
        ['--print-all-missed', '--print-all-matched', log, 'freeswitch'],
        [2, 4],
      );
      if (i === 0) await expectSameOutput([log, 'freeswitch[mode=normal]'], [3]);
      // Without prediction every piece assumes a fresh carry: wrong ones are matched again.
      const json = await expectSameOutput(['--json', log, 'freeswitch'], [3], {
        CLOUDJAIL_REGEX_PROBE_BYTES: '0',
      });
      for (const r of [...human, ...json]) {
        for (const cut of cutsOf(r)) {
          if (skipped(lines.get(cut)) && skipped(before(cut))) cutsInSkipRuns++;
          const first = lines.get(cut) ?? '';
          if (!skipped(first) && !/^(?:\d{4}-|Apr )/.test(first)) undatedCuts++;
        }
        rematched += r.stderr.split('matched again').length - 1;
        carriedTimeRead += r.stderr.split('carried time read').length - 1;
      }
    }
    // The cases this test is about did occur.
    expect(cutsInSkipRuns).toBeGreaterThan(0);
    expect(undatedCuts).toBeGreaterThan(0);
    expect(rematched).toBeGreaterThan(0);
    expect(carriedTimeRead).toBeGreaterThan(0);
  });

  it('a date format change between pieces: predicted, or matched again when the guess is wrong', async () => {
    const fs = (i: number) =>
      `2024-04-09 17:${String(i % 60).padStart(2, '0')}:00.5 97.44% [WARNING] sofia_reg.c:1842 SIP auth failure (REGISTER) on sofia profile 'internal' for [a@b] from ip 198.51.100.${i % 250}\n`;
    const sys = (i: number) =>
      `Apr 10 08:${String(i % 60).padStart(2, '0')}:00 sbc freeswitch[7]: [WARNING] sofia_reg.c:1842 SIP auth failure (INVITE) on sofia profile 'internal' for [a@b] from ip 192.0.2.${i % 250}\n`;
    const undated =
      "[WARNING] sofia_reg.c:1 SIP auth failure (INVITE) on sofia profile 'x' for [c@d] from ip 203.0.113.1\n";
    let text = '';
    for (let i = 0; i < 150; i++) text += fs(i);
    for (let i = 0; i < 150; i++) text += i % 10 === 0 ? undated : sys(i);
    const log = join(tmp, 'format-change.log');
    writeFileSync(log, text);
    const guessed = await expectSameOutput(['--json', log, 'freeswitch'], [3]);
    expect(guessed[0]?.stderr).not.toContain('matched again');
    expect(guessed[0]?.stderr).toContain('from a worker');
    const wrong = await expectSameOutput(['--json', log, 'freeswitch'], [3], {
      CLOUDJAIL_REGEX_PROBE_BYTES: '0',
    });
    expect(wrong[0]?.stderr).toMatch(/piece 2 .*assumed carry .*matched again/);
  });

  it('a fail2ban filter file with default date templates, ignoreregex and a format change', async () => {
    const conf = join(tmp, 'auth.conf');
    writeFileSync(
      conf,
      [
        '[Definition]',
        'failregex = ^\\s*auth failure for \\S+ from <HOST>$',
        '            ^\\s*bad password from <HOST> port \\d+$',
        'ignoreregex = for trusted ',
        '',
      ].join('\n'),
    );
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) {
      const date =
        i < 200
          ? `2024-04-09 10:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`
          : `Apr 10 11:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;
      const kind = i % 7;
      if (kind === 0) lines.push(`${date} sshd auth failure for root from 192.0.2.${i % 200}`);
      else if (kind === 1) lines.push(`${date} sshd auth failure for trusted from 192.0.2.1`);
      else if (kind === 2) lines.push(`bad password from 198.51.100.${i % 200} port 22`);
      else if (kind === 3) lines.push(i % 2 ? '# note' : '');
      else lines.push(`${date} sshd noise ${i} ünïcödé`);
    }
    const log = join(tmp, 'auth.log');
    writeFileSync(log, `${lines.join('\n')}\n`);
    await expectSameOutput(['--print-all-ignored', log, conf], [2, 3]);
    await expectSameOutput(['--json', log, conf], [2], { CLOUDJAIL_REGEX_PROBE_BYTES: '0' });
  });

  it('a filter with maxlines > 1 runs on one thread', async () => {
    const conf = join(tmp, 'multi.conf');
    writeFileSync(
      conf,
      '[Init]\nmaxlines = 2\n[Definition]\nfailregex = ^\\s*login from <HOST>\\n.*denied$\n',
    );
    const log = join(tmp, 'multi.log');
    let text = '';
    for (let i = 0; i < 200; i++) {
      text += `2024-04-09 10:00:${String(i % 60).padStart(2, '0')} login from 192.0.2.${i % 250}\n`;
      text += `2024-04-09 10:00:${String(i % 60).padStart(2, '0')} ${i % 3 ? 'denied' : 'ok'}\n`;
    }
    writeFileSync(log, text);
    const [r] = await expectSameOutput(['--json', log, conf], [2]);
    expect(r?.stdout).toContain('"host":"192.0.2.1"');
    expect(r?.stderr).toContain('one piece');
    expect(r?.stderr).not.toContain('pieces [');
  });

  it('a worker that fails leaves its piece to the main thread', async () => {
    const log = join(tmp, 'fail.log');
    writeFileSync(
      log,
      renderLog(fc.sample(fc.array(blockArb, { minLength: 60, maxLength: 60 }), { seed: 7 })[0]!),
    );
    const [r] = await expectSameOutput(['--print-all-missed', log, 'freeswitch'], [3], {
      CLOUDJAIL_REGEX_TEST_FAIL: 'worker',
    });
    expect(r?.stderr).toMatch(/piece 1 .*the worker failed \(test failure\), matched here/);
    expect(r?.stderr).toMatch(/piece 2 .*the worker failed/);
  });

  it('workers run the TypeScript source through tsx when regex is not bundled', async () => {
    const log = join(tmp, 'tsx.log');
    writeFileSync(
      log,
      renderLog(fc.sample(fc.array(blockArb, { minLength: 80, maxLength: 80 }), { seed: 3 })[0]!),
    );
    const args = ['--json', '--now', NOW, log, 'freeswitch'];
    const viaTsx = await new Promise<CliResult>((done) => {
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          "import('./cli/commands/regex.ts').then(async (m) => { process.exitCode = await m.main(process.argv); })",
          'cloudjail',
          'regex',
          '--jobs',
          '2',
          ...args,
        ],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...SPLIT }, timeout: 60_000 },
        (error, stdout, stderr) => done({ code: error ? 1 : 0, stdout, stderr }),
      );
    });
    const one = await cloudjail(['regex', '--jobs', '1', ...args]);
    expect(viaTsx.code, viaTsx.stderr).toBe(0);
    expect(viaTsx.stderr).toMatch(/piece 1 .*from a worker/);
    expect(viaTsx.stdout).toBe(one.stdout);
  });

  it('--jobs must be a whole number from 1', async () => {
    const r = await cloudjail(['regex', '--jobs', '0', 'x', 'freeswitch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--jobs');
  });
});
