/**
 * `npm run bench:regex`: fail2ban-regex against `cloudjail regex` on the same generated FreeSWITCH
 * log with the same fail2ban filter file, in one run; then cloudjail's built-in filter, and the
 * `--json` mode (labelled: fail2ban-regex has no equivalent).
 *
 * Each tool runs BENCH_RUNS times (default 5), interleaved, after one untimed warm-up run of each
 * (it fills the page cache, and makes cloudjail's start-up bundle on a fresh clone). For each it
 * prints the median and the best of two figures: its own "[processed in X sec]" (for both tools,
 * the time from the first line read to the last line matched, file reading included, start-up and
 * filter loading excluded) and the wall-clock time of the whole process (start-up included). The
 * ratios are of medians. Match counts must be equal.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const LINES = Number(process.env.BENCH_LINES ?? 200_000);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
const GENERATOR = resolve(ROOT, '../shared/bench/gen-freeswitch-log.py');
const OUT = resolve(ROOT, 'bench/out');
const LOG = resolve(OUT, `freeswitch-${LINES}.log`);
// fail2ban 1.0.2's freeswitch filter predates the idle-CPU field FreeSWITCH >= 1.10.7 writes after
// the timestamp (gh-3143); this filter parameter lets it skip that field.
const F2B_FILTER =
  '/etc/fail2ban/filter.d/freeswitch.conf[_pref_line="^%(__prefix_line)s(?:(?:\\d+-)?\\d+-\\d+ \\d+:\\d+:\\d+\\.\\d+)?(?: \\d+\\.\\d+%%)?"]';

interface Run {
  readonly name: string;
  readonly lines: number;
  readonly matched: number;
  readonly processedSec: number;
  readonly wallSec: number;
}

interface Tool {
  readonly name: string;
  readonly cmd: string;
  readonly args: string[];
  /** Reads the line and match counts and the processing time from the tool's output. */
  readonly json?: boolean;
  readonly runs: Run[];
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** `--json` prints no statistics: lines and matches come from its summary, time from wall only. */
function runJson(name: string, cmd: string, args: string[]): Run {
  const started = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  const wallSec = (performance.now() - started) / 1000;
  if (r.status !== 0)
    throw new Error(`${name} failed (exit ${r.status}): ${r.stderr}`.slice(0, 2000));
  const last = r.stdout.trimEnd().split('\n').at(-1) ?? '';
  const summary = (JSON.parse(last) as { summary: { lines: number; matched: number } }).summary;
  return {
    name,
    lines: summary.lines,
    matched: summary.matched,
    processedSec: Number.NaN,
    wallSec,
  };
}

function run(name: string, cmd: string, args: string[]): Run {
  const started = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallSec = (performance.now() - started) / 1000;
  if (r.status !== 0) {
    throw new Error(`${name} failed (exit ${r.status}): ${r.stderr || r.stdout}`.slice(0, 2000));
  }
  const out = r.stdout;
  const lines = /Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed/.exec(out);
  const processed = /\[processed in ([\d.]+) sec\]/.exec(out);
  if (!lines || !processed)
    throw new Error(`${name}: cannot read its summary:\n${out.slice(-2000)}`);
  return {
    name,
    lines: Number(lines[1]),
    matched: Number(lines[3]),
    processedSec: Number(processed[1]),
    wallSec,
  };
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? (`${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '') : 'not installed';
}

function main(): void {
  mkdirSync(OUT, { recursive: true });
  if (!existsSync(LOG)) {
    const text = execFileSync('python3', [GENERATOR, String(LINES)], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    writeFileSync(LOG, text);
  }
  const f2bVersion = version('fail2ban-regex', ['--version']);
  const hasF2b = f2bVersion !== 'not installed';
  const cli = resolve(ROOT, 'cli/cloudjail.js');
  const tools: Tool[] = [];
  if (hasF2b) {
    tools.push({
      name: 'fail2ban-regex (Debian filter)',
      cmd: 'fail2ban-regex',
      args: [LOG, F2B_FILTER],
      runs: [],
    });
  } else console.log('fail2ban-regex not installed: apt-get install -y fail2ban');
  const node = process.execPath;
  tools.push(
    {
      name: 'cloudjail regex (Debian filter)',
      cmd: node,
      args: [cli, 'regex', LOG, F2B_FILTER],
      runs: [],
    },
    {
      name: 'cloudjail regex (built-in freeswitch)',
      cmd: node,
      args: [cli, 'regex', LOG, 'freeswitch'],
      runs: [],
    },
    {
      name: 'cloudjail regex --json (Debian filter; no fail2ban-regex equivalent)',
      cmd: node,
      args: [cli, 'regex', '--json', LOG, F2B_FILTER],
      json: true,
      runs: [],
    },
  );
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  // Untimed warm-up of each, then RUNS timed rounds, interleaved so load changes hit every tool.
  for (const t of tools) (t.json ? runJson : run)(t.name, t.cmd, t.args);
  for (let i = 0; i < RUNS; i++) {
    for (const t of tools) t.runs.push((t.json ? runJson : run)(t.name, t.cmd, t.args));
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `\n${LINES} lines, ${cpus().length} × ${cpu}, node ${process.version}, ${f2bVersion}, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.log(
    `${RUNS} timed runs each (medians; best in brackets); load average before: ${load}\n`,
  );
  console.log('| tool | matched | processing s | lines/s (processing) | wall s | lines/s (wall) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const fmt = (x: number, d: number) => (Number.isNaN(x) ? '–' : x.toFixed(d));
  const rate = (x: number) => (Number.isNaN(x) ? '–' : Math.round(LINES / x).toLocaleString('en'));
  for (const t of tools) {
    const p = median(t.runs.map((r) => r.processedSec));
    const pBest = Math.min(...t.runs.map((r) => r.processedSec));
    const w = median(t.runs.map((r) => r.wallSec));
    const wBest = Math.min(...t.runs.map((r) => r.wallSec));
    const matched = [...new Set(t.runs.map((r) => r.matched))].join('/');
    console.log(
      `| ${t.name} | ${matched} | ${fmt(p, 3)} (${fmt(pBest, 3)}) | ${rate(p)} | ${fmt(w, 2)} (${fmt(wBest, 2)}) | ${rate(w)} |`,
    );
  }
  const f2b = hasF2b ? tools[0] : undefined;
  const ours = tools.find((t) => t.name === 'cloudjail regex (Debian filter)') as Tool;
  let failed = false;
  for (const t of tools) {
    if (t.runs.some((r) => r.lines !== LINES)) {
      console.error(`${t.name}: read ${t.runs.map((r) => r.lines).join('/')} lines, not ${LINES}`);
      failed = true;
    }
  }
  if (f2b) {
    const ratio = (k: 'processedSec' | 'wallSec') =>
      median(f2b.runs.map((r) => r[k])) / median(ours.runs.map((r) => r[k]));
    console.log(
      `\nratio (same filter, medians): ${ratio('processedSec').toFixed(1)}x processing, ${ratio('wallSec').toFixed(1)}x wall`,
    );
    const counts = new Set(tools.flatMap((t) => t.runs.map((r) => r.matched)));
    if (counts.size !== 1) {
      console.error(
        `MATCH COUNTS DIFFER: ${tools.map((t) => `${t.name} ${t.runs.map((r) => r.matched).join('/')}`).join('; ')}`,
      );
      failed = true;
    } else console.log(`match counts equal: ${[...counts][0]}`);
  }
  if (failed) process.exitCode = 1;
}

main();
