/**
 * `cloudjail demo` (`npm start`): the embedded mode end to end. Starts an in-process DynamoDB
 * engine and a local EC2 endpoint with a sample NACL (an allow rule), replays the bundled
 * FreeSWITCH and Asterisk attack logs (samples/, merged by time) through the real detector and
 * enforcer, and prints each ban and the NACL table whenever it changes, then a summary of both
 * tiers (the NACLs, and the ban list published to a local S3 API for the host agents).
 * `--log FILE [--jail J]` does the same on the user's own log.
 */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { formatDuration } from '../../lambda/core/policy/duration.js';
import type { ReplaySource } from '../../local/replay-log.js';
import { loadConfigFile, SAMPLE_LOGS } from '../config-file.js';
import { CliError } from '../exit-codes.js';
import { banLine, enforcementLines, formatTime, naclTable } from '../format.js';
import { printLines } from '../input.js';
import { hostTierLine, naclTierLines } from '../tiers.js';
import {
  checkLogFile,
  REPLAY_LOG_GROUP,
  replayConfig,
  selectJails,
  summaryLine,
  withEmbedded,
} from './replay.js';

interface DemoOptions {
  readonly log?: string;
  readonly jail?: string;
  readonly config?: string;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'npm start: replay the bundled attack logs (or --log) through detector and enforcer on the embedded mode',
    )
    .option('--log <file>', 'your own log instead of the bundled samples')
    .option('--jail <jail>', 'with --log: the jail reading it (default: every jail)')
    .option('--config <file>', 'configuration (default: samples/cloudjail.json)')
    .addHelpText('after', '\nExit codes: 0 done, 2 bad input (log file, jail, configuration).')
    .action(async (options: DemoOptions) => {
      await runDemo(options);
    });
}

function show(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

async function runDemo(options: DemoOptions): Promise<void> {
  const loaded = loadConfigFile(options.config);
  let jails = loaded.config.jails;
  let sources: ReplaySource[];
  if (options.log !== undefined) {
    checkLogFile(options.log);
    jails = selectJails(loaded.config, options.jail !== undefined ? { jail: options.jail } : {});
    sources = [
      { path: options.log, logGroup: REPLAY_LOG_GROUP, timeZone: jails[0]?.timezone ?? 'UTC' },
    ];
  } else {
    if (options.jail !== undefined) throw new CliError('--jail needs --log');
    sources = Object.entries(SAMPLE_LOGS).map(([name, path]) => {
      const jail = jails.find((j) => j.name === name);
      if (!jail?.logGroups[0]) {
        throw new CliError(
          `${loaded.path}: the bundled sample logs need a jail named ${JSON.stringify(name)}`,
        );
      }
      return { path, logGroup: jail.logGroups[0], timeZone: jail.timezone };
    });
  }
  const config = replayConfig(loaded.config, jails);

  const out: string[] = [
    'cloudjail demo: the real detector and enforcer, on an embedded DynamoDB engine (dynalite),',
    'a local CloudWatch Logs endpoint (subscription filters as deployed), a local EC2 endpoint',
    'and a local S3 API (the published ban list); no AWS account is used.',
    '',
    'jails:',
    ...jails.map(
      (j) =>
        `  ${j.name}: filter ${j.filter}, ban after ${j.maxretry} failures in ${formatDuration(j.findtime)} for ${formatDuration(j.bantime)}`,
    ),
    `allowlist (ignoreip): ${config.ignoreip.join(', ') || '(none)'}`,
    ...config.targets.map(
      (t) =>
        `network ACL ${t.naclId}: cloudjail rules ${t.ipv4Band.first}-${t.ipv4Band.last} (IPv4) and ${t.ipv6Band.first}-${t.ipv6Band.last} (IPv6), quota ${config.enforcement.ruleQuota} per family`,
    ),
    '',
    `replaying ${sources.map((s) => show(s.path)).join(' and ')} (the logs' own timestamps are the clock)`,
    '',
  ];
  printLines(out);

  const [{ replayLogs }, { startEmbeddedLogs }] = await Promise.all([
    import('../../local/replay-log.js'),
    import('../../local/embedded-logs.js'),
  ]);
  const result = await withEmbedded(config, async (pipeline) => {
    // Every batch goes through a local CloudWatch Logs endpoint: PutLogEvents, the subscription
    // filters (and patterns) the stack installs, delivery to the detector.
    const logs = await startEmbeddedLogs(pipeline);
    const initial = pipeline.inboundEntries();
    for (const t of config.targets) {
      printLines([
        ...naclTable(
          t.naclId,
          initial.filter((e) => e.naclId === t.naclId),
        ),
        '',
      ]);
    }
    return replayLogs(pipeline, sources, {
      deliver: (batch) => logs.ship(batch),
      publishEveryRun: true,
      onBan: (ban, at) => printLines([`[${formatTime(at)}] BAN ${banLine(ban, at)}`]),
      onNaclChange: (entries, report, at) => {
        const lines = [`[${formatTime(at)}] enforcer: ${report.mutations} change(s)`];
        for (const t of config.targets) {
          lines.push(
            ...naclTable(
              t.naclId,
              entries.filter((e) => e.naclId === t.naclId),
            ),
          );
        }
        printLines([...lines, '']);
      },
    }).finally(() => logs.stop());
  });

  printLines([
    '',
    'summary:',
    `  ${summaryLine(result, jails)}`,
    ...enforcementLines(result.report),
    ...[...naclTierLines(result.report), hostTierLine(result.report)].map((l) => `  ${l}`),
    '',
    'next: `cloudjail replay <log> --json`, `cloudjail local` with `cloudjail status --local`,',
    'or deploy with `npx cdk deploy` (docs/deploy.md).',
  ]);
}
