/**
 * `npm run bench:replay -- <log>...`: `cloudjail replay`'s pipeline (local/replay-log.ts: log
 * lines → CloudWatch-style batches on the log's own clock → the detector use case → the enforcer
 * use case on every ban and expiry) on each log, twice:
 *
 * - **memory**, what `replay` runs: the in-memory ban store and network ACLs (the contract twins of
 *   the DynamoDB store and the EC2 adapter);
 * - **dynamodb**, the peer (what `replay` ran before, `replay --store dynamodb`): dynalite and the
 *   local EC2 endpoint through the real AWS SDK clients over HTTP.
 *
 * Both must give the same result — every ban (jail, CIDR, time, expiry, count), the counters and
 * the final NACL table — or the bench fails. Prints a Markdown row per log: lines, seconds and
 * lines/s of each, CPU seconds of the memory run, and the ratio. BENCH_PEER=0 skips the peer.
 * Logs: `python3 gen-freeswitch-log.py 200000 > fs.log`, `python3 gen-attack-campaign.py >
 * campaign.log` (the shared bench generators); `samples/freeswitch.log` when none is given.
 */
import { statSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { basename } from 'node:path';
import {
  REPLAY_LOG_GROUP,
  type ReplayStore,
  replayConfig,
  selectJails,
  withEmbedded,
} from '../cli/commands/replay.js';
import { loadConfigFile } from '../cli/config-file.js';
import { type ReplayResult, replayLogs } from '../local/replay-log.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface Run {
  readonly result: ReplayResult;
  readonly seconds: number;
  readonly cpuSeconds: number;
}

async function run(log: string, store: ReplayStore): Promise<Run> {
  const loaded = loadConfigFile();
  const jails = selectJails(loaded.config, {});
  const config = replayConfig(loaded.config, jails);
  return withEmbedded(
    config,
    async (pipeline) => {
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      // A fixed fallback time: lines before the first dated one get the same time in both runs.
      const result = await replayLogs(
        pipeline,
        [{ path: log, logGroup: REPLAY_LOG_GROUP, timeZone: 'UTC' }],
        {},
        Date.UTC(2026, 0, 1),
      );
      const seconds = (performance.now() - t0) / 1000;
      const used = process.cpuUsage(cpu);
      return { result, seconds, cpuSeconds: (used.user + used.system) / 1e6 };
    },
    store,
  );
}

/** What must be identical between the two runs. */
function outcome(r: ReplayResult) {
  return {
    lines: r.lines,
    failures: r.failures,
    allowlisted: r.allowlisted,
    from: r.from,
    to: r.to,
    bans: r.bans.map((b) => [b.jail, b.cidr, b.createdAt, b.expiresAt, b.banCount, b.failures]),
    activeBans: r.report.activeBans,
    notEnforced: r.report.notEnforced,
    enforcerRuns: r.enforcerRuns,
    nacl: r.entries.map((e) => `${e.naclId} ${e.ruleNumber} ${e.ruleAction} ${e.cidr}`),
  };
}

async function main(): Promise<void> {
  const logs = process.argv.slice(2);
  if (logs.length === 0) logs.push('samples/freeswitch.log');
  const peer = process.env.BENCH_PEER !== '0';
  console.log(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load ${loadavg()[0]?.toFixed(1)}`,
  );
  console.log(`Date: ${new Date().toISOString().slice(0, 10)}\n`);
  await run('samples/freeswitch.log', 'memory'); // warm-up: module loading, JIT
  console.log(
    '| log | lines | MB | bans | memory s | memory lines/s | memory CPU s | dynamodb s | dynamodb lines/s | ratio |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  let failed = false;
  for (const log of logs) {
    const fast = await run(log, 'memory');
    const slow = peer ? await run(log, 'dynamodb') : undefined;
    const r = fast.result;
    if (slow) {
      const a = JSON.stringify(outcome(fast.result));
      const b = JSON.stringify(outcome(slow.result));
      if (a !== b) {
        failed = true;
        console.error(`${log}: memory and dynamodb replays differ:\n  ${a}\n  ${b}`);
      }
    }
    const rate = (x: Run) => Math.round(x.result.lines / x.seconds).toLocaleString('en-US');
    console.log(
      `| ${basename(log)} | ${r.lines.toLocaleString('en-US')} | ${(statSync(log).size / 2 ** 20).toFixed(1)} | ${r.bans.length} | ${fast.seconds.toFixed(2)} | ${rate(fast)} | ${fast.cpuSeconds.toFixed(2)} | ${slow ? slow.seconds.toFixed(2) : '–'} | ${slow ? rate(slow) : '–'} | ${slow ? `${(slow.seconds / fast.seconds).toFixed(1)}×` : '–'} |`,
    );
  }
  if (failed) process.exitCode = 1;
  else if (peer) console.log('\nSame bans, counters and NACL table on both stores.');
}

await main();
