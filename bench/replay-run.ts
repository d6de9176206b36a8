/**
 * One replay of bench/replay.ts, which loads this module from an esbuild bundle made by
 * cli/bundle.js exactly as the `cloudjail` command loads itself: the bench times the code the
 * command runs, not tsx's transpiled form of it.
 */
import {
  bannedAddresses,
  naclJson,
  REPLAY_LOG_GROUP,
  type ReplayStore,
  replayConfig,
  selectJails,
  withEmbedded,
} from '../cli/commands/replay.js';
import { loadConfigFile } from '../cli/config-file.js';
import { type ReplayResult, replayLogs } from '../local/replay-log.js';

export interface Run {
  readonly result: ReplayResult;
  readonly seconds: number;
  readonly cpuSeconds: number;
}

export async function run(log: string, store: ReplayStore): Promise<Run> {
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
export function outcome(r: ReplayResult) {
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
    published: r.published,
  };
}

/** The last line `cloudjail replay --json` prints for `r`. */
export function cliJson(r: ReplayResult): string {
  return JSON.stringify({
    banned: bannedAddresses(r.bans),
    nacl: naclJson(r),
    notEnforced: r.report.notEnforced,
    published: r.published,
  });
}
