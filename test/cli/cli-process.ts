/**
 * Runs `cloudjail` as users do: a spawned `node cli/cloudjail.js` process, with stdout, stderr and
 * the exit code. Also starts and stops a `cloudjail local` server for `--local` commands.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'cli/cloudjail.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const ENV = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

export function cloudjail(
  args: readonly string[],
  cwd = ROOT,
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd, encoding: 'utf8', timeout: 60_000, env: { ...ENV, ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code =
          error && typeof (error as { code?: unknown }).code === 'number'
            ? ((error as { code: number }).code as number)
            : error
              ? null
              : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** The last non-empty stdout line, parsed as JSON. */
export function lastJson(r: CliResult): unknown {
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '');
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `cloudjail-${prefix}-`));
}

export interface LocalServer {
  readonly state: string;
  /** `--local --state <file>` for the commands. */
  readonly args: readonly string[];
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `cloudjail local` and resolves once it printed its ready line. */
export function startLocalServer(extra: readonly string[] = []): Promise<LocalServer> {
  const state = join(tempDir('local'), 'state.json');
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, 'local', '--state', state, '--enforce-every', '1h', ...extra],
    { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((ready, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`no ready line within 30 s:\n${out}\n${err}`)),
      30_000,
    );
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('cloudjail local: ready')) {
        clearTimeout(timer);
        ready({
          state,
          args: ['--local', '--state', state],
          output: () => out,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`cloudjail local exited (${code}) before ready:\n${out}\n${err}`));
    });
  });
}
