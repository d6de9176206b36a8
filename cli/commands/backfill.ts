/**
 * `cloudjail backfill [JAIL]`: reads each jail's log groups over a window (default: the jail's
 * findtime) with FilterLogEvents and feeds the events, with their CloudWatch event ids, through
 * the detector's ingest use case (lambda/use-cases/backfill-log-groups.ts); then runs the enforcer
 * if that made bans. What fail2ban does when it starts: an attack already in progress when
 * cloudjail is deployed (or while the subscription was broken) is counted without waiting for
 * maxretry new failures. Idempotent by event id: what live delivery already counted counts nothing.
 */
import type { Command } from 'commander';
import type { JailConfig } from '../../lambda/config/jail-config.js';
import type { IngestDeps } from '../../lambda/use-cases/ingest-log-events.js';
import { addConnectionOptions, type ConnectionOptions, withContext } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { banLine, formatTime } from '../format.js';
import { durationOption, printJson, printLines } from '../input.js';
import { logsErrorMessage, openLogs, progressLine } from '../logs-connection.js';

interface BackfillCliOptions extends ConnectionOptions {
  readonly since?: string;
  readonly json?: boolean;
}

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('backfill')
      .description(
        "count what the jails' log groups already hold (FilterLogEvents over findtime) and ban",
      )
      .argument('[jail]', 'one jail (default: every jail)')
      .option('--since <duration>', "window to read (default: each jail's findtime)")
      .option('--json', 'one JSON object on stdout: {"groups": [...], "bans": [...]}'),
  )
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 2 bad input, 4 unknown jail or log group, 1 AWS/store error, 5 bans not enforced.',
    )
    .action(async (jail: string | undefined, options: BackfillCliOptions) => {
      await runBackfill(jail, options);
    });
}

async function runBackfill(jailName: string | undefined, options: BackfillCliOptions) {
  const since = options.since !== undefined ? durationOption(options.since, '--since') : undefined;
  const [{ loadBuiltinOrFileFilter }, { ingestLogEvents }, { backfillLogGroups }, adapters, trig] =
    await Promise.all([
      import('../../lambda/adapters/filter-files.js'),
      import('../../lambda/use-cases/ingest-log-events.js'),
      import('../../lambda/use-cases/backfill-log-groups.js'),
      import('../../lambda/adapters/cloudwatch-log-events.js'),
      import('../../lambda/ports/enforcement-trigger.js'),
    ]);
  await withContext(options, async (ctx) => {
    let jails: readonly JailConfig[] = ctx.config.jails;
    if (jailName !== undefined) {
      jails = jails.filter((j) => j.name === jailName);
      if (jails.length === 0) {
        throw new CliError(
          `no jail ${JSON.stringify(jailName)} (jails: ${ctx.config.jails.map((j) => j.name).join(', ')})`,
          ExitCode.NotFound,
        );
      }
    }
    const runtimes = jails.map((config) => {
      const filter = loadBuiltinOrFileFilter(config.filter);
      return { config, createMatcher: () => filter.createMatcher({ timeZone: config.timezone }) };
    });
    const ignores = await ctx.store.listIgnores();
    const deps: IngestDeps = {
      store: ctx.store,
      trigger: new trig.RecordingEnforcementTrigger(),
      jails: runtimes,
      ignoreip: ctx.config.ignoreip,
      runtimeIgnores: async () => ignores,
      now: () => ctx.now(),
    };
    const conn = await openLogs(options);
    const progress = progressLine('backfill');
    let report: Awaited<ReturnType<typeof backfillLogGroups>>;
    try {
      report = await backfillLogGroups(
        {
          source: new adapters.CloudWatchLogEvents(conn.client, (e, p) => progress.update(e, p)),
          ingest: (batch) => ingestLogEvents(batch, deps),
          jails,
          now: () => ctx.now(),
        },
        since !== undefined ? { since } : {},
      );
    } catch (e) {
      if (e instanceof CliError) throw e;
      const name = (e as { name?: string }).name;
      if (name === 'ResourceNotFoundException') {
        throw new CliError(logsErrorMessage(e, 'FilterLogEvents'), ExitCode.NotFound);
      }
      throw new CliError(logsErrorMessage(e, 'FilterLogEvents'), ExitCode.Failure);
    } finally {
      progress.done();
      conn.close();
    }
    let notEnforced = 0;
    let enforceError: string | undefined;
    if (report.bans.length > 0) {
      try {
        notEnforced = (await ctx.enforce('cloudjail backfill')).notEnforced;
      } catch (e) {
        enforceError = (e as Error).message;
      }
    }
    if (options.json) {
      printJson({
        groups: report.groups.map(({ bans, ...g }) => ({ ...g, bans: bans.length })),
        bans: report.bans.map((b) => ({ jail: b.jail, cidr: b.cidr, expiresAt: b.expiresAt })),
        notEnforced,
        ...(enforceError ? { enforceError } : {}),
      });
    } else {
      const now = ctx.now();
      const lines = report.groups.map(
        (g) =>
          `${g.logGroup} (${g.jails.join(', ')}): ${g.events} event(s) since ${formatTime(g.startTime)}, ${g.failures} failure(s), ${g.newFailures} not counted before, ${g.bans.length} ban(s)`,
      );
      for (const b of report.bans) lines.push(`ban ${banLine(b, now)}`);
      printLines(lines);
    }
    if (enforceError) throw new CliError(enforceError, ExitCode.Failure);
    if (notEnforced > 0) {
      throw new CliError(
        `${notEnforced} ban(s) not enforced (NACL capacity)`,
        ExitCode.NotEnforced,
      );
    }
  });
}
