/**
 * `cloudjail local`: the embedded mode as a foreground server, so that separate CLI processes
 * (`status`, `ban`, `unban`, `ignore` with `--local`) share one state. It starts the in-process
 * DynamoDB engine, the local EC2 endpoint (one sample NACL with an allow rule per configured
 * target) and the local S3 API (the published ban list, for `cloudjail agent --local`) on
 * 127.0.0.1, writes a state file naming them, runs the enforcer on a schedule (the
 * unban sweeper), prints NACL changes, and removes the state file on SIGINT/SIGTERM.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { loadConfigFile } from '../config-file.js';
import { defaultStatePath, type LocalState } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatTime, naclTable } from '../format.js';
import { durationOption, printLines } from '../input.js';

/** Name the local Lambda endpoint serves the enforcer under. */
const ENFORCER_FUNCTION = 'cloudjail-enforcer';
/** What `doctor --local` asks the server (deliveries, the enforcer's last run). */
const DIAGNOSTICS_FUNCTION = 'cloudjail-diagnostics';

interface LocalOptions {
  readonly config?: string;
  readonly state: string;
  readonly enforceEvery: string;
}

export function register(program: Command): void {
  program
    .command('local')
    .description(
      'run the embedded mode as a server (DynamoDB engine, local EC2, Lambda and CloudWatch Logs endpoints) for --local commands',
    )
    .option('--config <file>', 'configuration (default: samples/cloudjail.json)')
    .option('--state <file>', 'where to write the state file', defaultStatePath())
    .option('--enforce-every <duration>', 'scheduled enforcer run (expiry sweep)', '1m')
    .addHelpText(
      'after',
      '\nPrints "cloudjail local: ready ..." once serving; stop with Ctrl-C (SIGINT) or SIGTERM.\nExit codes: 0 stopped by a signal, 2 bad configuration, 3 another server owns the state file.',
    )
    .action(async (options: LocalOptions) => {
      await runLocal(options);
    });
}

function ownerAlive(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const pid = (JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown }).pid;
    if (typeof pid !== 'number') return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** The state file's directory must exist (checked before any server starts). */
function checkStateDir(path: string): void {
  const dir = dirname(path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new CliError(`--state: directory ${dir} does not exist (for ${path})`);
  }
  if (!isDir) throw new CliError(`--state: ${dir} is not a directory (for ${path})`);
}

async function runLocal(options: LocalOptions): Promise<void> {
  const { raw, config, path: configPath } = loadConfigFile(options.config);
  const every = durationOption(options.enforceEvery, '--enforce-every');
  checkStateDir(options.state);
  const owner = ownerAlive(options.state);
  if (owner !== undefined && owner !== process.pid) {
    throw new CliError(
      `a local server (pid ${owner}) already uses ${options.state}; stop it or pass --state`,
      ExitCode.Refused,
    );
  }
  const [{ startEmbedded }, { startLocalLambda }] = await Promise.all([
    import('../../local/embedded.js'),
    import('../../local/lambda-endpoint.js'),
  ]);
  const pipeline = await startEmbedded({ config, startAt: Date.now() });
  // The enforcer, invoked by the --local commands through a local Lambda Invoke endpoint; runs
  // are serialized there, so this process stays the single NACL writer.
  let lastRun: { at: number; dryRun: boolean; ok: boolean; error?: string } | undefined;
  let diagnostics: () => unknown = () => ({});
  const lambda = await startLocalLambda({
    [ENFORCER_FUNCTION]: async (event) => {
      pipeline.clock.set(Date.now());
      const requested =
        typeof event === 'object' &&
        event !== null &&
        (event as { dryRun?: unknown }).dryRun === true;
      const dryRun = requested || config.enforcement.dryRun;
      try {
        const report = await pipeline.enforce({ dryRun });
        const errors = report.nacls.filter((n) => n.error !== undefined);
        // The last run that converged (status/doctor dry runs are not runs of the enforcer).
        if (!dryRun)
          lastRun = {
            at: Date.now(),
            dryRun,
            ok: errors.length === 0,
            ...(errors.length > 0
              ? { error: errors.map((n) => `${n.naclId}: ${n.error}`).join('; ') }
              : {}),
          };
        return report;
      } catch (e) {
        if (!dryRun) lastRun = { at: Date.now(), dryRun, ok: false, error: (e as Error).message };
        throw e;
      }
    },
    [DIAGNOSTICS_FUNCTION]: async () => diagnostics(),
  });
  // CloudWatch Logs: the stack's log groups and subscription filters, delivering to the local
  // detector; a batch that creates a ban runs the enforcer, as the detector's async invoke does.
  const { startEmbeddedLogs } = await import('../../local/embedded-logs.js');
  const logs = await startEmbeddedLogs(pipeline, {
    now: () => Date.now(),
    beforeIngest: () => pipeline.clock.set(Date.now()),
    onReport: (report) => {
      if (report.bans.length > 0) void converge();
    },
    onError: (error, batch) =>
      process.stderr.write(
        `cloudjail local: the detector failed on a delivery from ${batch.logGroup} (delivered again): ${error.message}\n`,
      ),
  });
  diagnostics = () => ({ deliveries: logs.logs.deliveryStats(), enforcerLastRun: lastRun ?? null });
  const state: LocalState = {
    version: 1,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    dynamodb: { endpoint: pipeline.dynamodb.endpoint, tableName: pipeline.dynamodb.tableName },
    ec2: { endpoint: pipeline.ec2.endpoint, region: pipeline.ec2.region },
    lambda: { endpoint: lambda.endpoint, enforcerFunctionName: ENFORCER_FUNCTION },
    s3: { endpoint: pipeline.s3.endpoint, bucket: pipeline.s3.bucket },
    logs: {
      endpoint: logs.logs.endpoint,
      region: logs.logs.region,
      detectorArn: logs.detectorArn,
      diagnosticsFunctionName: DIAGNOSTICS_FUNCTION,
    },
    config: raw,
  };
  const tmp = `${options.state}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, options.state);
  } catch (e) {
    // Nothing may keep running (and the ports open) when the state cannot be written.
    rmSync(tmp, { force: true });
    await lambda.stop();
    await pipeline.stop();
    throw new CliError(
      `--state: cannot write ${options.state} (${(e as Error).message})`,
      ExitCode.Failure,
    );
  }

  const lastTables = new Map<string, string>();
  const showChanges = () => {
    for (const t of config.targets) {
      const entries = pipeline.ec2.entries(t.naclId);
      const key = JSON.stringify(
        entries.filter((e) => !e.egress).sort((a, b) => a.ruleNumber - b.ruleNumber),
      );
      if (key !== lastTables.get(t.naclId)) {
        lastTables.set(t.naclId, key);
        printLines([`[${formatTime(Date.now())}]`, ...naclTable(t.naclId, entries)]);
      }
    }
  };
  /** Enforcer runs until nothing is pending (a run makes at most maxMutationsPerRun changes). */
  async function converge() {
    for (let run = 0; run < 10; run++) {
      const report = (await sweep()) as { pending?: number; mutations?: number } | undefined;
      if (!report?.pending || !report.mutations) return;
    }
  }
  async function sweep(): Promise<unknown> {
    try {
      return await lambda.invoke(ENFORCER_FUNCTION, { source: 'cloudjail.schedule' });
    } catch (e) {
      process.stderr.write(
        `cloudjail local: scheduled enforcer run failed: ${(e as Error).message}\n`,
      );
      return undefined;
    }
  }
  const timer = setInterval(() => void sweep(), every);
  // NACL changes come from other processes' enforcer runs too: watch the endpoint's table.
  const watcher = setInterval(showChanges, 250);

  printLines([
    `cloudjail local: ready (state ${options.state}, config ${configPath}, DynamoDB ${state.dynamodb.endpoint}, EC2 ${state.ec2.endpoint}, Lambda ${state.lambda.endpoint}, CloudWatch Logs ${logs.logs.endpoint}, S3 ${pipeline.s3.endpoint})`,
  ]);
  showChanges();

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  clearInterval(timer);
  clearInterval(watcher);
  if (ownerAlive(options.state) === process.pid) rmSync(options.state, { force: true });
  await logs.stop();
  await lambda.stop();
  await pipeline.stop();
  printLines(['cloudjail local: stopped']);
}
