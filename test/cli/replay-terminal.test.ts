/**
 * `cloudjail replay` on a terminal (a pseudo-terminal made by util-linux `script`) prints the same
 * ban lines as in a pipe — `[log time] ban …` with the "in …" of the ban's own time — as they
 * happen, with the progress bar drawn again below them (issue 15, item 16).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, tempDir } from './cli-process.js';

const tmp = tempDir('replay-tty');

function fsLine(time: string, text: string): string {
  return `2024-11-05 ${time}.000100 98.10% ${text}`;
}
const failure = (time: string, ip: string) =>
  fsLine(
    time,
    `[WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'external' for [100@198.51.100.5] from ip ${ip}`,
  );
const noise = (time: string, n: number) =>
  fsLine(
    time,
    `[DEBUG] sofia.c:7493 Channel sofia/internal/${8000 + (n % 1000)}@sip.example.com entering state [calling][0] ${'x'.repeat(80)}`,
  );

/** A log over 4 MB (the progress bar's threshold): an attacker at the start and one at the end. */
function bigLog(): string {
  const lines: string[] = [];
  for (let i = 0; i < 5; i++) lines.push(failure(`10:00:1${i}`, '203.0.113.71'));
  for (let i = 0; i < 24_000; i++) {
    const s = 20 + Math.floor(i / 10);
    lines.push(
      noise(
        `10:${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`,
        i,
      ),
    );
  }
  for (let i = 0; i < 5; i++) lines.push(failure(`10:45:1${i}`, '203.0.113.72'));
  const path = join(tmp, 'big.log');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Runs the CLI under `script`: stdout and stderr are one pseudo-terminal. */
function onTerminal(
  args: readonly string[],
  piped = false,
): Promise<{ code: number | null; stdout: string; out: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  // `piped`: the same command with its stdout into `cat` (not a terminal).
  const command = `${[process.execPath, CLI, ...args].map(quote).join(' ')}${piped ? ' | cat' : ''}`;
  return new Promise((done) => {
    execFile(
      'script',
      ['-qfec', command, '/dev/null'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 240_000,
        maxBuffer: 64 << 20,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
      (error, stdout) => {
        const code = error ? ((error as { code?: number }).code ?? null) : 0;
        done({ code: typeof code === 'number' ? code : null, stdout, out: stdout });
      },
    );
  });
}

describe('cloudjail replay on a terminal', () => {
  it('prints the same ban lines as piped output, as they happen, above the progress bar', async () => {
    const log = bigLog();
    const args = ['replay', log, '--filter', 'freeswitch[mode=normal]', '--bantime', '1h'];
    // One after the other, each with its own generous timeout: the CI box may be loaded.
    const tty = await onTerminal(args);
    const piped = await onTerminal([...args, '--no-progress'], true);
    expect(piped.code).toBe(0);
    expect(tty.code).toBe(0);
    const banLines = piped.stdout
      .replace(/\r/g, '')
      .split('\n')
      .filter((l) => / ban /.test(l));
    expect(banLines).toEqual([
      expect.stringMatching(
        /^\[2024-11-05 10:00:14Z\] ban 203\.0\.113\.71 \[replay\] until 2024-11-05 11:00:14Z \(in 1h\)/,
      ),
      expect.stringMatching(
        /^\[2024-11-05 10:45:14Z\] ban 203\.0\.113\.72 \[replay\] until 2024-11-05 11:45:14Z \(in 1h\)/,
      ),
    ]);
    const screen = tty.out.replace(/\r/g, '');
    for (const line of banLines) expect(screen).toContain(line);
    // The bar was on the terminal, and drawn again after the first ban line (not all bans at the end).
    const firstBan = screen.indexOf(banLines[0] as string);
    expect(screen.indexOf('replay [')).toBeGreaterThanOrEqual(0);
    expect(screen.lastIndexOf('replay [')).toBeGreaterThan(firstBan);
    expect(screen.indexOf(banLines[1] as string)).toBeGreaterThan(firstBan);
  }, 500_000);
});
