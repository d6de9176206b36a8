/**
 * `npm run bench:replay -- <log>...`: `cloudjail replay`'s pipeline (local/replay-log.ts: log
 * lines → CloudWatch-style batches on the log's own clock → the detector use case → the enforcer
 * use case on every ban and expiry) on each log:
 *
 * - **memory**, what `replay` runs: the in-memory ban store and network ACLs (the contract twins of
 *   the DynamoDB store and the EC2 adapter), BENCH_RUNS times (default 3; the median is reported);
 * - **cli**, the same replay as an operator runs it, end to end: a spawned `cloudjail replay LOG
 *   --json` (start, configuration, cold JIT, exit included), BENCH_RUNS times, the median reported;
 * - **dynamodb**, the peer (what `replay` ran before, `replay --store dynamodb`): dynalite and the
 *   local EC2 endpoint through the real AWS SDK clients over HTTP, once.
 *
 * The replay runs from a bundle made by cli/bundle.js (bench/replay-run.ts), as the `cloudjail`
 * command runs. Both stores must give the same result — every ban (jail, CIDR, time, expiry,
 * count), the counters, the final NACL table and the published list — or the bench fails. Prints
 * a Markdown row per log. BENCH_PEER=0 skips the peer.
 * Logs: `python3 gen-freeswitch-log.py 200000 > fs.log`, `python3 gen-attack-campaign.py >
 * campaign.log` (the shared bench generators); `samples/freeswitch.log` when none is given.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename } from 'node:path';
import { bundled, ROOT } from '../cli/bundle.js';
import type { ReplayStore } from '../cli/commands/replay.js';
import type { ReplayResult } from '../local/replay-log.js';
import type * as ReplayRun from './replay-run.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface Run {
  readonly result: ReplayResult;
  readonly seconds: number;
  readonly cpuSeconds: number;
}

const bench = (await bundled('bench-replay', 'bench/replay-run.ts')).module as typeof ReplayRun;

/** Wall seconds of `cloudjail replay log --json` and its last line. */
function cliRun(log: string): { seconds: number; json: string } {
  const t0 = performance.now();
  const out = spawnSync(
    process.execPath,
    [`${ROOT}/cli/cloudjail.js`, 'replay', log, '--json', '--no-progress'],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (out.status !== 0)
    throw new Error(`cloudjail replay ${log}: exit ${out.status}\n${out.stderr}`);
  return { seconds, json: out.stdout.trim().split('\n').at(-1) ?? '' };
}

function median(runs: readonly Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor((sorted.length - 1) / 2)] as Run;
}

async function main(): Promise<void> {
  const logs = process.argv.slice(2);
  if (logs.length === 0) logs.push('samples/freeswitch.log');
  const peer = process.env.BENCH_PEER !== '0';
  const times = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load ${loadavg()[0]?.toFixed(1)}`,
  );
  console.log(`Date: ${new Date().toISOString().slice(0, 10)}; memory: median of ${times} runs\n`);
  await bench.run('samples/freeswitch.log', 'memory' satisfies ReplayStore); // warm-up: JIT
  console.log(
    '| log | lines | MB | bans | memory s (each run) | memory lines/s | memory CPU s | cli s (each run) | cli lines/s | dynamodb s | dynamodb lines/s | ratio |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  let failed = false;
  for (const log of logs) {
    const runs: Run[] = [];
    for (let i = 0; i < times; i++) runs.push(await bench.run(log, 'memory'));
    const fast = median(runs);
    const cli: { seconds: number; json: string }[] = [];
    for (let i = 0; i < times; i++) cli.push(cliRun(log));
    const cliTimes = cli.map((c) => c.seconds).sort((a, b) => a - b);
    const cliSeconds = cliTimes[Math.floor((cliTimes.length - 1) / 2)] as number;
    for (const c of cli) {
      if (c.json !== bench.cliJson(fast.result)) {
        failed = true;
        console.error(
          `${log}: cloudjail replay --json differs:\n  ${bench.cliJson(fast.result)}\n  ${c.json}`,
        );
      }
    }
    const slow = peer ? await bench.run(log, 'dynamodb') : undefined;
    const expected = JSON.stringify(bench.outcome(fast.result));
    for (const other of [...runs, ...(slow ? [slow] : [])]) {
      const got = JSON.stringify(bench.outcome(other.result));
      if (got !== expected) {
        failed = true;
        console.error(`${log}: replays differ:\n  ${expected}\n  ${got}`);
      }
    }
    const r = fast.result;
    const rate = (x: Run) => Math.round(x.result.lines / x.seconds).toLocaleString('en-US');
    const each = runs.map((x) => x.seconds.toFixed(2)).join(', ');
    console.log(
      `| ${basename(log)} | ${r.lines.toLocaleString('en-US')} | ${(statSync(log).size / 2 ** 20).toFixed(1)} | ${r.bans.length} | ${fast.seconds.toFixed(2)} (${each}) | ${rate(fast)} | ${fast.cpuSeconds.toFixed(2)} | ${cliSeconds.toFixed(2)} (${cli.map((c) => c.seconds.toFixed(2)).join(', ')}) | ${Math.round(r.lines / cliSeconds).toLocaleString('en-US')} | ${slow ? slow.seconds.toFixed(2) : '–'} | ${slow ? rate(slow) : '–'} | ${slow ? `${(slow.seconds / fast.seconds).toFixed(1)}×` : '–'} |`,
    );
  }
  if (failed) process.exitCode = 1;
  else
    console.log(
      `\nSame bans, counters, NACL table and published list in every run${peer ? ', on both stores' : ''}, and the same output from cloudjail replay --json.`,
    );
}

await main();
