/**
 * `cloudjail import <fail2ban-config-dir> [--jail NAME ...] [--json] [--out FILE]`: maps a fail2ban
 * jail configuration onto a cloudjail configuration document, a CloudWatch agent configuration for
 * its log files, and a report of every key (lambda/core/config/fail2ban-import.ts). Writes nothing
 * unless `--out` names where.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BUILTIN_FILTER_DIR, nodeFilterFiles } from '../../lambda/adapters/filter-files.js';
import {
  type ImportReportLine,
  type ImportResult,
  importFail2banConfig,
} from '../../lambda/core/config/fail2ban-import.js';
import { CloudjailError } from '../../lambda/core/errors.js';
import { type AgentCollectEntry, buildAgentConfig } from '../agent-config.js';
import { CliError } from '../exit-codes.js';

interface ImportCliOptions {
  readonly jail?: string[];
  readonly json?: boolean;
  readonly out?: string;
  readonly nacl?: string;
}

export function register(program: Command): void {
  program
    .command('import')
    .description(
      'map a fail2ban configuration (jail.conf, jail.d/, jail.local) onto a cloudjail configuration, a CloudWatch agent configuration and a report',
    )
    .argument('<fail2ban-config-dir>', 'fail2ban configuration directory, e.g. /etc/fail2ban')
    .option('--jail <name...>', 'only these jails (enabled or not); default: every enabled jail')
    .option('--nacl <acl-id>', 'network ACL of the targets section (default: a placeholder)')
    .option('--json', 'one JSON object on stdout: {"config", "agentConfig", "report"}')
    .option(
      '--out <file>',
      'write the configuration to FILE and the agent configuration to FILE.agent.json',
    )
    .addHelpText('after', '\nExit codes: 0 imported, 2 bad input (no jail files, unknown jail).')
    .action((dir: string, options: ImportCliOptions) => {
      runImport(dir, options);
    });
}

/** Every builtin filter name (`filter.d/*.conf` of the package). */
function builtinFilterNames(): string[] {
  return (nodeFilterFiles.list?.(BUILTIN_FILTER_DIR) ?? [])
    .filter((n) => n.endsWith('.conf'))
    .map((n) => n.slice(0, -'.conf'.length));
}

/** The CloudWatch agent configuration shipping every imported log file to its log group. */
export function importAgentConfig(result: ImportResult): {
  logs: { logs_collected: { files: { collect_list: Partial<AgentCollectEntry>[] } } };
} {
  const collect: Partial<AgentCollectEntry>[] = [];
  for (const f of result.logFiles) {
    if (f.format) {
      const built = buildAgentConfig({
        jail: {
          name: f.jail,
          filter: f.format,
          logGroups: [f.logGroup],
          ...(f.timezone ? { timezone: f.timezone } : {}),
        },
        file: f.file,
      });
      collect.push(...built.logs.logs_collected.files.collect_list);
    } else {
      // No built-in format: one line per event, the event time is the time of reading.
      collect.push({
        file_path: f.file,
        log_group_name: f.logGroup,
        log_stream_name: '{instance_id}',
        timezone: 'UTC',
      });
    }
  }
  return { logs: { logs_collected: { files: { collect_list: collect } } } };
}

function reportLine(l: ImportReportLine): string {
  const where = l.file ? ` (${l.file}${l.line ? `:${l.line}` : ''})` : '';
  return `${l.status.padEnd(12)} [${l.jail}] ${l.key}: ${l.detail}${where}`;
}

export function runImport(dir: string, options: ImportCliOptions): void {
  if (options.nacl !== undefined && !/^acl-(?:[0-9a-f]{8}|[0-9a-f]{17})$/.test(options.nacl)) {
    throw new CliError(
      `--nacl: ${JSON.stringify(options.nacl)} is not a network ACL id (acl-0123456789abcdef0)`,
    );
  }
  const absolute = resolve(dir);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
    throw new CliError(
      `${dir}: not a directory (expected a fail2ban configuration, e.g. /etc/fail2ban)`,
    );
  }
  let result: ImportResult;
  try {
    result = importFail2banConfig({
      dir: absolute,
      files: nodeFilterFiles,
      builtinFilters: builtinFilterNames(),
      ...(options.jail ? { jails: options.jail } : {}),
      ...(options.nacl ? { naclId: options.nacl } : {}),
    });
  } catch (error) {
    if (error instanceof CloudjailError) throw new CliError(`import: ${error.message}`);
    throw error;
  }
  const agentConfig = importAgentConfig(result);
  if (options.out) {
    const out = resolve(options.out);
    writeFileSync(out, `${JSON.stringify(result.config, null, 2)}\n`);
    writeFileSync(
      `${out.replace(/\.json$/, '')}.agent.json`,
      `${JSON.stringify(agentConfig, null, 2)}\n`,
    );
  }
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ config: result.config, agentConfig, report: result.report })}\n`,
    );
    return;
  }
  const lines = [
    '# cloudjail configuration (the "cloudjail" key of cdk.json, or replay --config)',
    JSON.stringify(result.config, null, 2),
    '',
    '# CloudWatch agent configuration (logs section)',
    JSON.stringify(agentConfig, null, 2),
    '',
    '# Report',
    ...result.report.map(reportLine),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
