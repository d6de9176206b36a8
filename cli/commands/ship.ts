/**
 * `cloudjail ship <file>`: sends a log file to CloudWatch Logs the way the CloudWatch agent does
 * with the configuration `agent-config` prints (same event splitting and timestamps: one shared
 * function, cli/log-shipper.ts), in PutLogEvents batches within the API limits. To the
 * `cloudjail local` server (`--local`: log file → local CloudWatch Logs → subscription filter →
 * detector → table → enforcer on one machine) or to a deployed log group. `--once` (default)
 * reads to the end and exits; `--follow` keeps reading what is appended, as the agent does.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { CloudjailConfig } from '../../lambda/config/cloudjail-config.js';
import type { JailConfig } from '../../lambda/config/jail-config.js';
import { formatDuration } from '../../lambda/core/policy/duration.js';
import { addConnectionOptions, type ConnectionOptions } from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatTime } from '../format.js';
import { printJson, printLines } from '../input.js';
// Loaded when the command runs (not at every CLI start): the agent format code pulls in the
// date engine, the shipper the AWS SDK.
import type { agentEventFormat, LogShipper } from '../log-shipper.js';
import { logsErrorMessage, openLogs } from '../logs-connection.js';

/** CloudWatch Logs refuses events older than this (PutLogEvents `tooOldLogEventEndIndex`). */
const MAX_AGE_MS = 14 * 24 * 3_600_000;

interface ShipOptions extends ConnectionOptions {
  readonly jail?: string;
  readonly logGroup?: string;
  readonly logStream?: string;
  readonly config?: string;
  readonly follow?: boolean;
  readonly once?: boolean;
  readonly retime?: boolean;
  readonly json?: boolean;
}

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('ship')
      .description(
        'send a log file to CloudWatch Logs as the CloudWatch agent would (agent-config splitting and timestamps)',
      )
      .argument('<file>', 'log file (FreeSWITCH, Asterisk: a jail with a built-in format)')
      .option(
        '--jail <jail>',
        "whose format and log group (default: the only jail, or the file's name)",
      )
      .option('--log-group <name>', "log group (default: the jail's first)")
      .option('--log-stream <name>', 'log stream (default: this host name)')
      .option(
        '--config <file>',
        "configuration (default: the local server's, else samples/cloudjail.json)",
      )
      .option('--once', 'read to the end and exit (the default)')
      .option('--follow', 'keep reading what is appended (Ctrl-C to stop)')
      .option(
        '--retime',
        'move the log in time so its last event is now (default with --local for logs older than 14 days)',
      )
      .option('--no-retime', "keep the log's own times (old events are refused by CloudWatch Logs)")
      .option(
        '--json',
        'one JSON object on stdout: {"logGroup", "logStream", "events", "batches", ...}',
      ),
  )
    .addHelpText(
      'after',
      '\nExit codes: 0 shipped, 2 bad input (file, jail, format), 4 no such log group or local server, 1 AWS error.',
    )
    .action(async (file: string, options: ShipOptions) => {
      await runShip(file, options);
    });
}

/** The jail a file belongs to: --jail, the only jail, or the jail named in the file's name. */
export function pickJail(config: CloudjailConfig, file: string, name?: string): JailConfig {
  const names = config.jails.map((j) => j.name).join(', ');
  if (name !== undefined) {
    const jail = config.jails.find((j) => j.name === name);
    if (!jail)
      throw new CliError(
        `--jail: no jail ${JSON.stringify(name)} (jails: ${names})`,
        ExitCode.NotFound,
      );
    return jail;
  }
  if (config.jails.length === 1) return config.jails[0] as JailConfig;
  const base = basename(file);
  const named = config.jails.filter((j) => base.includes(j.name));
  if (named.length === 1) return named[0] as JailConfig;
  throw new CliError(`${file}: which jail's log is it? pass --jail (jails: ${names})`);
}

async function runShip(file: string, options: ShipOptions): Promise<void> {
  if (!existsSync(file)) throw new CliError(`log file not found: ${file}`);
  if (!statSync(file).isFile()) throw new CliError(`not a file: ${file}`);
  if (options.follow && options.once) throw new CliError('--follow and --once exclude each other');
  const [{ agentEventFormat, LogShipper, readAgentEvents }, { loadConfigFile }] = await Promise.all(
    [import('../log-shipper.js'), import('../config-file.js')],
  );
  const conn = await openLogs(options);
  try {
    let config: CloudjailConfig;
    if (options.config !== undefined || !conn.state) config = loadConfigFile(options.config).config;
    else {
      const { loadCloudjailConfig } = await import('../../lambda/config/cloudjail-config.js');
      config = loadCloudjailConfig(conn.state.config);
    }
    const jail = pickJail(config, file, options.jail);
    const format = agentEventFormat(jail);
    const logGroup = options.logGroup ?? jail.logGroups[0];
    if (!logGroup) throw new CliError(`jail ${jail.name} reads no log group: pass --log-group`);
    const logStream = options.logStream ?? hostname();
    const shipper = new LogShipper(conn.client, logGroup, logStream);
    const now = Date.now();
    const { events, lines } = await readAgentEvents(file, format, now);
    let shift = 0;
    const last = events[events.length - 1];
    const retime =
      options.retime === true ||
      (options.retime !== false &&
        !options.follow &&
        conn.state !== undefined &&
        last !== undefined &&
        last.timestamp < now - MAX_AGE_MS + 3_600_000);
    if (retime && last) {
      shift = now - last.timestamp;
      process.stderr.write(
        `ship: ${file} ends at ${formatTime(last.timestamp)}; its times are moved by ${formatDuration(shift)} so that it ends now (--no-retime keeps them; CloudWatch Logs refuses events older than 14 days)\n`,
      );
    }
    try {
      for (const e of events)
        await shipper.add({ timestamp: e.timestamp + shift, message: e.message });
      await shipper.flush();
      if (options.follow) await follow(file, shipper, format);
    } catch (e) {
      if (e instanceof CliError) throw e;
      const code =
        (e as { name?: string }).name === 'ResourceNotFoundException'
          ? ExitCode.NotFound
          : ExitCode.Failure;
      throw new CliError(logsErrorMessage(e, `PutLogEvents ${logGroup} ${logStream}`), code);
    }
    const { rejected } = shipper.stats;
    const refused = rejected.tooOld + rejected.expired + rejected.tooNew;
    if (refused > 0) {
      process.stderr.write(
        `ship: CloudWatch Logs refused ${refused} event(s): ${rejected.tooOld} older than 14 days, ${rejected.expired} older than the retention, ${rejected.tooNew} more than 2 h ahead${options.retime === false ? ' (drop --no-retime to replay an old log)' : ''}\n`,
      );
    }
    const summary = {
      logGroup,
      logStream,
      jail: jail.name,
      lines,
      events: shipper.stats.events,
      batches: shipper.stats.batches,
      rejected,
      shiftedMs: shift,
    };
    if (options.json) printJson(summary);
    else {
      printLines([
        `shipped ${summary.events} event(s) (${lines} lines) to ${logGroup} / ${logStream} in ${summary.batches} PutLogEvents batch(es) (${conn.where})`,
      ]);
    }
  } finally {
    conn.close();
  }
}

/**
 * Keeps reading what is appended to `file` (a truncated file is read again from its start, as
 * after a rotation), flushing every `flushSeconds` as the agent's force_flush_interval.
 */
async function follow(
  file: string,
  shipper: LogShipper,
  format: ReturnType<typeof agentEventFormat>,
): Promise<void> {
  const { createAgentSplitter } = await import('../../lambda/core/logs/agent-events.js');
  let offset = statSync(file).size;
  let splitter = createAgentSplitter(format, { now: Date.now() });
  let partial = '';
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let idleSince = Date.now();
  let lastFlush = Date.now();
  const buffer = Buffer.alloc(1 << 20);
  while (!stopped) {
    await new Promise((r) => setTimeout(r, 250));
    const size = existsSync(file) ? statSync(file).size : 0;
    if (size < offset) {
      offset = 0;
      partial = '';
      splitter = createAgentSplitter(format, { now: Date.now() });
    }
    if (size > offset) {
      const fd = openSync(file, 'r');
      try {
        while (offset < size) {
          const n = readSync(fd, buffer, 0, Math.min(buffer.length, size - offset), offset);
          if (n <= 0) break;
          offset += n;
          const parts = (partial + buffer.toString('utf8', 0, n)).split('\n');
          partial = parts.pop() ?? '';
          for (const line of parts) {
            for (const e of splitter.push(line)) await shipper.add(e);
          }
        }
      } finally {
        closeSync(fd);
      }
      idleSince = Date.now();
    }
    const now = Date.now();
    // A pending multi-line event is complete once nothing was appended for a flush interval.
    if (now - idleSince >= format.flushSeconds * 1000) {
      for (const e of splitter.end()) await shipper.add(e);
      splitter = createAgentSplitter(format, { now });
      idleSince = now;
    }
    if (now - lastFlush >= format.flushSeconds * 1000) {
      await shipper.flush();
      lastFlush = now;
    }
  }
  if (partial !== '') for (const e of splitter.push(partial)) await shipper.add(e);
  for (const e of splitter.end()) await shipper.add(e);
  await shipper.flush();
}
