/**
 * `cloudjail replay <LOG>`: runs a log file through the whole pipeline on the embedded mode (the
 * detector use case, the enforcer use case, an in-process DynamoDB engine and a local EC2 endpoint
 * with the sample NACL), with the log's own timestamps as the clock. Prints each ban and the NACL
 * table at the end; `--json` prints one last line:
 * `{"banned": [...], "nacl": [{"ruleNumber", "cidr", "ruleAction"}], "notEnforced": k,
 * "published": [...]}` (`published`: every CIDR of the host tier's ban list at the end).
 */
import { existsSync, statSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { CloudjailConfig } from '../../lambda/config/cloudjail-config.js';
import { type JailConfig, parseJails } from '../../lambda/config/jail-config.js';
import type { Ban } from '../../lambda/core/ban.js';
import { formatDuration } from '../../lambda/core/policy/duration.js';
import type { PipelineCore } from '../../local/embedded.js';
import type { ReplayResult, ReplaySource } from '../../local/replay-log.js';
import { loadConfigFile } from '../config-file.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { banLine, cidrAddress, formatTime, naclTable } from '../format.js';
import { durationOption, integerOption, printJson, printLines } from '../input.js';

/** The log group replayed files are delivered under (every selected jail reads it). */
export const REPLAY_LOG_GROUP = '/cloudjail/replay';
/** Files at least this large get a progress bar (on a terminal). */
const PROGRESS_MIN_BYTES = 4 << 20;

/**
 * Where a replay keeps its state: `memory` (default) the in-process twins of the DynamoDB store and
 * the EC2 adapter, `dynamodb` dynalite and the local EC2 endpoint over HTTP (the deployed request
 * path; ~15x slower, the same bans: `npm run bench:replay` checks both).
 */
export type ReplayStore = 'memory' | 'dynamodb';

export interface JailSelection {
  readonly filter?: string;
  readonly jail?: string;
  readonly maxretry?: string;
  readonly findtime?: string;
  readonly bantime?: string;
}

interface ReplayOptions extends JailSelection {
  readonly config?: string;
  readonly timezone?: string;
  readonly json?: boolean;
  readonly progress?: boolean;
  readonly store?: string;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description(
      "run a log file through detector and enforcer locally (embedded store, local EC2, the log's own clock)",
    )
    .argument('<log>', 'log file (FreeSWITCH, Asterisk, or anything a filter reads)')
    .option(
      '--filter <spec>',
      'filter to use instead of the configured jails (freeswitch[mode=extra], a .conf)',
    )
    .option('--jail <jail>', 'only this jail of the configuration (default: every jail)')
    .option('--maxretry <n>', 'failures that ban (overrides the jail)')
    .option('--findtime <duration>', 'window of those failures (overrides the jail)')
    .option('--bantime <duration>', 'ban length, -1 = permanent (overrides the jail)')
    .option('--timezone <zone>', 'zone of log dates without one (default: the jail timezone, UTC)')
    .option(
      '--config <file>',
      'configuration: jails, ignoreip, targets (default: samples/cloudjail.json)',
    )
    .option(
      '--json',
      'last stdout line: {"banned": [...], "nacl": [...], "notEnforced": k, "published": [...]}',
    )
    .option('--no-progress', 'no progress bar on large files')
    .option(
      '--store <store>',
      'memory (default: in-process store and NACLs) or dynamodb (dynalite and the local EC2 endpoint over HTTP, slower)',
      'memory',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 done (banned or not), 2 bad input (file, filter, option, configuration), 4 unknown jail, 1 unexpected.',
    )
    .action(async (log: string, options: ReplayOptions) => {
      await runReplay(log, options);
    });
}

/** The jails a replay runs: --filter, --jail or every configured jail, with the overrides. */
export function selectJails(config: CloudjailConfig, options: JailSelection): JailConfig[] {
  if (options.filter !== undefined && options.jail !== undefined) {
    throw new CliError('--filter and --jail exclude each other');
  }
  const overrides = {
    ...(options.maxretry !== undefined
      ? { maxretry: integerOption(options.maxretry, '--maxretry') }
      : {}),
    ...(options.findtime !== undefined
      ? { findtime: durationOption(options.findtime, '--findtime') }
      : {}),
    ...(options.bantime !== undefined
      ? { bantime: durationOption(options.bantime, '--bantime', true) }
      : {}),
  };
  let base: readonly JailConfig[];
  if (options.filter !== undefined) {
    const parsed = parseJails([
      { name: 'replay', filter: options.filter, logGroups: [REPLAY_LOG_GROUP] },
    ]);
    if (!parsed.value) throw new CliError(`--filter: ${parsed.problems.join('; ')}`);
    base = parsed.value;
  } else if (options.jail !== undefined) {
    const jail = config.jails.find((j) => j.name === options.jail);
    if (!jail) {
      throw new CliError(
        `--jail: no jail ${JSON.stringify(options.jail)} in the configuration (jails: ${config.jails.map((j) => j.name).join(', ')})`,
        ExitCode.NotFound,
      );
    }
    base = [jail];
  } else base = config.jails.filter((j) => j.filter !== '');
  return base.map((j) => ({ ...j, ...overrides, logGroups: [REPLAY_LOG_GROUP] }));
}

/** The configuration the embedded pipeline runs: the jails given, enforcement never dry. */
export function replayConfig(
  config: CloudjailConfig,
  jails: readonly JailConfig[],
): CloudjailConfig {
  return { ...config, jails, enforcement: { ...config.enforcement, dryRun: false } };
}

export function checkLogFile(path: string): void {
  if (!existsSync(path)) throw new CliError(`log file not found: ${path}`);
  if (statSync(path).isDirectory()) throw new CliError(`${path} is a directory, not a log file`);
  if (!statSync(path).isFile()) throw new CliError(`not a file: ${path}`);
}

/** Starts the pipeline, replays, always stops it; `fn` sees the pipeline for extra output. */
export async function withEmbedded<T>(
  config: CloudjailConfig,
  fn: (pipeline: PipelineCore) => Promise<T>,
  store: ReplayStore = 'memory',
): Promise<T> {
  // Loaded here, not at start-up: the embedded mode pulls in dynalite and the EC2 client.
  const { jailRuntimes, startEmbedded } = await import('../../local/embedded.js');
  const jails = jailRuntimes(config.jails);
  const pipeline =
    store === 'memory'
      ? await startEmbedded({ config, jails, inMemory: true })
      : await startEmbedded({ config, jails });
  try {
    return await fn(pipeline);
  } finally {
    await pipeline.stop();
  }
}

/** Addresses banned during the replay, first ban order, each once. */
export function bannedAddresses(bans: readonly Ban[]): string[] {
  return [...new Set(bans.map((b) => cidrAddress(b.cidr)))];
}

/** The `--json` contract's NACL part: inbound deny entries, default denies excluded. */
export function naclJson(result: ReplayResult) {
  return result.entries
    .filter((e) => e.ruleAction === 'deny' && e.ruleNumber < 32767)
    .map((e) => ({ ruleNumber: e.ruleNumber, cidr: e.cidr, ruleAction: e.ruleAction }));
}

/**
 * The progress bar of a large file on a terminal (stderr), kept on the last line: `print` writes
 * lines on stdout above it (the bar line is cleared, the lines written, the bar drawn again).
 */
function progressBar(total: number, enabled: boolean) {
  if (!enabled || !process.stderr.isTTY || total < PROGRESS_MIN_BYTES) return undefined;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'replay [{bar}] {percentage}% | {value}/{total} MB | {eta_formatted} left',
      hideCursor: true,
      clearOnComplete: true,
      // Drawn again after lines were printed above it, even when its text did not change.
      forceRedraw: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.ceil(total / 1048576), 0);
  return {
    update: (bytes: number) => bar.update(Math.floor(bytes / 1048576)),
    print: (lines: readonly string[]) => {
      process.stderr.write('\r\x1b[2K');
      printLines(lines);
      bar.render();
    },
    stop: () => bar.stop(),
  };
}

async function runReplay(log: string, options: ReplayOptions): Promise<void> {
  checkLogFile(log);
  const store = options.store ?? 'memory';
  if (store !== 'memory' && store !== 'dynamodb') {
    throw new CliError(`--store: ${JSON.stringify(store)} is not memory or dynamodb`);
  }
  const loaded = loadConfigFile(options.config);
  const jails = selectJails(loaded.config, options);
  const config = replayConfig(loaded.config, jails);
  const json = options.json ?? false;
  const source: ReplaySource = {
    path: log,
    logGroup: REPLAY_LOG_GROUP,
    timeZone: options.timezone ?? jails[0]?.timezone ?? 'UTC',
  };
  const bar = progressBar(statSync(log).size, options.progress !== false);
  const { replayLogs } = await import('../../local/replay-log.js');
  const result = await withEmbedded(
    config,
    (pipeline) =>
      replayLogs(pipeline, [source], {
        onBan: (ban, at) => {
          if (json) return;
          // The same line on a terminal as in a pipe, as it happens (above the bar, if any).
          const line = [`[${formatTime(at)}] ban ${banLine(ban, at)}`];
          if (bar) bar.print(line);
          else printLines(line);
        },
        ...(bar ? { onProgress: (bytes) => bar.update(bytes) } : {}),
      }),
    store,
  ).finally(() => bar?.stop());
  if (json) {
    printJson({
      banned: bannedAddresses(result.bans),
      nacl: naclJson(result),
      notEnforced: result.report.notEnforced,
      published: result.published,
    });
    return;
  }
  const lines = [''];
  for (const t of config.targets) {
    lines.push(
      ...naclTable(
        t.naclId,
        result.entries.filter((e) => e.naclId === t.naclId),
      ),
      '',
    );
  }
  lines.push(summaryLine(result, jails));
  printLines(lines);
}

export function summaryLine(result: ReplayResult, jails: readonly JailConfig[]): string {
  const span =
    result.from !== null && result.to !== null
      ? ` from ${formatTime(result.from)} to ${formatTime(result.to)} (${formatDuration(result.to - result.from)})`
      : '';
  return `${result.lines} lines${span}; jails ${jails.map((j) => j.name).join(', ')}: ${result.failures} failures (${result.allowlisted} allowlisted), ${result.bans.length} ban(s) of ${bannedAddresses(result.bans).length} address(es); at the end ${result.report.activeBans} active, ${result.report.notEnforced} not enforced (NACL capacity)`;
}
