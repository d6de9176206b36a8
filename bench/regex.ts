/**
 * `npm run bench:regex`: fail2ban-regex against `cloudjail regex` on the same generated FreeSWITCH
 * log with the same fail2ban filter file, in one run; then cloudjail's built-in filter.
 *
 * Prints lines/s of each (from each tool's own "[processed in X sec]" and from wall-clock time,
 * start-up included), the ratio, and the match counts, which must be equal.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const LINES = Number(process.env.BENCH_LINES ?? 200_000);
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

function main(): void {
  mkdirSync(OUT, { recursive: true });
  if (!existsSync(LOG)) {
    const text = execFileSync('python3', [GENERATOR, String(LINES)], {
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    writeFileSync(LOG, text);
  }
  const hasF2b = spawnSync('fail2ban-regex', ['--version'], { encoding: 'utf8' }).status === 0;
  const cli = resolve(ROOT, 'cli/cloudjail.js');
  const runs: Run[] = [];
  let f2b: Run | undefined;
  if (hasF2b) {
    f2b = run('fail2ban-regex (Debian filter)', 'fail2ban-regex', [LOG, F2B_FILTER]);
    runs.push(f2b);
  } else console.log('fail2ban-regex not installed: apt-get install -y fail2ban');
  const ours = run('cloudjail regex (Debian filter)', process.execPath, [
    cli,
    'regex',
    LOG,
    F2B_FILTER,
  ]);
  runs.push(ours);
  runs.push(
    run('cloudjail regex (built-in freeswitch)', process.execPath, [
      cli,
      'regex',
      LOG,
      'freeswitch',
    ]),
  );

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `\n${LINES} lines, ${cpus().length} × ${cpu}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`,
  );
  console.log('| tool | matched | processing s | lines/s (processing) | wall s | lines/s (wall) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    console.log(
      `| ${r.name} | ${r.matched} | ${r.processedSec.toFixed(2)} | ${Math.round(r.lines / r.processedSec)} | ${r.wallSec.toFixed(2)} | ${Math.round(r.lines / r.wallSec)} |`,
    );
  }
  if (f2b) {
    console.log(
      `\nratio (same filter): ${(f2b.processedSec / ours.processedSec).toFixed(1)}x processing, ${(f2b.wallSec / ours.wallSec).toFixed(1)}x wall`,
    );
    if (f2b.matched !== ours.matched) {
      console.error(
        `MATCH COUNTS DIFFER: fail2ban-regex ${f2b.matched}, cloudjail ${ours.matched}`,
      );
      process.exitCode = 1;
    } else console.log(`match counts equal: ${ours.matched}`);
  }
}

main();
