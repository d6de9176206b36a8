/**
 * `cloudjail doctor [JAIL]`: checks every link of the chain, SBC log → CloudWatch Logs → subscription
 * filter → detector → table → enforcer → NACLs (→ host agents), and prints one line per check (ok,
 * warn, fail, skip) with the fix. The same code for a deployed stack and for `--local` (clients
 * pointed at the local endpoints); only the detector's health comes from different places (the
 * detector's own log group when deployed, the local server's delivery counters with --local).
 * Exit codes: 0 every check ok (skips allowed), 6 a check failed, 7 warnings only.
 */

import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Command } from 'commander';
import type { JailConfig } from '../../lambda/config/jail-config.js';
import { formatDuration } from '../../lambda/core/policy/duration.js';
import type { EnforcementReport } from '../../lambda/use-cases/enforce-bans.js';
import { subscriptionPlan } from '../../lib/filter-patterns.js';
import { STACK_OUTPUTS } from '../../lib/outputs.js';
import { LOCAL_CREDENTIALS } from '../../local/loopback-server.js';
import {
  addConnectionOptions,
  type CliContext,
  type ConnectionOptions,
  type LocalState,
  withContext,
} from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { formatTime } from '../format.js';
import { printJson, printLines } from '../input.js';
import {
  filterLogEvents,
  type LogsConnection,
  logsErrorMessage,
  openLogs,
} from '../logs-connection.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  readonly check: string;
  readonly subject: string;
  readonly status: CheckStatus;
  readonly message: string;
  readonly fix?: string;
}

interface DoctorOptions extends ConnectionOptions {
  readonly json?: boolean;
}

const HOUR = 3_600_000;
/** Events read for the sample (the last hour's, at most). */
const SAMPLE_EVENTS = 5000;

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('doctor')
      .description(
        'check every link: log group, recent events, subscription filter, a sample through the filter, detector, enforcer, NACLs, agents',
      )
      .argument('[jail]', 'only this jail (default: every jail)')
      .option('--json', 'one JSON object on stdout: {"checks": [...], "ok": bool}'),
  )
    .addHelpText(
      'after',
      '\nExit codes: 0 every check ok, 6 a check failed, 7 warnings only, 4 unknown jail or no local server, 1 AWS error.',
    )
    .action(async (jail: string | undefined, options: DoctorOptions) => {
      await runDoctor(jail, options);
    });
}

const ago = (t: number, now: number) => `${formatDuration(Math.max(1000, now - t))} ago`;

/** Where the deployed detector and enforcer are (stack outputs). */
async function stackFunctions(options: ConnectionOptions) {
  const { CloudFormationClient, DescribeStacksCommand } = await import(
    '@aws-sdk/client-cloudformation'
  );
  const cfn = new CloudFormationClient(options.region ? { region: options.region } : {});
  try {
    const out = await cfn.send(
      new DescribeStacksCommand({ StackName: options.stack ?? 'Cloudjail' }),
    );
    const outputs = out.Stacks?.[0]?.Outputs ?? [];
    const get = (k: string) => outputs.find((o) => o.OutputKey === k)?.OutputValue;
    return {
      detector: get(STACK_OUTPUTS.detectorFunctionName),
      enforcer: get(STACK_OUTPUTS.enforcerFunctionName),
    };
  } finally {
    cfn.destroy();
  }
}

interface Diagnostics {
  readonly deliveries: readonly {
    logGroup: string;
    filterName: string;
    failedAttempts: number;
    pendingEvents: number;
    droppedEvents: number;
    deliveredEvents: number;
    lastError?: string;
  }[];
  readonly enforcerLastRun: { at: number; dryRun: boolean; ok: boolean; error?: string } | null;
}

async function localDiagnostics(state: LocalState): Promise<Diagnostics | undefined> {
  const name = state.logs?.diagnosticsFunctionName;
  if (!name) return undefined;
  const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
  const lambda = new LambdaClient({
    region: state.ec2.region,
    endpoint: state.lambda.endpoint,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  try {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: new TextEncoder().encode('{}') }),
    );
    if (out.FunctionError || !out.Payload) return undefined;
    return JSON.parse(new TextDecoder().decode(out.Payload)) as Diagnostics;
  } catch {
    return undefined;
  } finally {
    lambda.destroy();
  }
}

async function checkLogGroup(
  logs: CloudWatchLogsClient,
  group: string,
  jails: readonly string[],
  now: number,
  out: Check[],
): Promise<boolean> {
  const { DescribeLogGroupsCommand, DescribeLogStreamsCommand } = await import(
    '@aws-sdk/client-cloudwatch-logs'
  );
  const found = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group }));
  if (!found.logGroups?.some((g) => g.logGroupName === group)) {
    out.push({
      check: 'log-group',
      subject: group,
      status: 'fail',
      message: `log group ${group} (jail ${jails.join(', ')}) does not exist`,
      fix: `create it (cdk.json logGroups: {"${group}": {"create": true}} and cdk deploy), or fix the jail's logGroups`,
    });
    return false;
  }
  out.push({
    check: 'log-group',
    subject: group,
    status: 'ok',
    message: `log group ${group} exists`,
  });
  const streams = await logs.send(
    new DescribeLogStreamsCommand({
      logGroupName: group,
      orderBy: 'LastEventTime',
      descending: true,
      limit: 5,
    }),
  );
  const ingested = Math.max(0, ...(streams.logStreams ?? []).map((s) => s.lastIngestionTime ?? 0));
  const fix = `ship the SBC log to it: cloudjail agent-config --jail ${jails[0]} --file <log> (CloudWatch agent), or cloudjail ship <log>`;
  if (ingested === 0) {
    out.push({
      check: 'events',
      subject: group,
      status: 'fail',
      message: `no events ever reached ${group}`,
      fix,
    });
  } else if (now - ingested > HOUR) {
    out.push({
      check: 'events',
      subject: group,
      status: 'warn',
      message: `last event ingested ${ago(ingested, now)} (${formatTime(ingested)}): is the agent still running?`,
      fix,
    });
  } else {
    out.push({
      check: 'events',
      subject: group,
      status: 'ok',
      message: `last event ingested ${ago(ingested, now)}`,
    });
  }
  return true;
}

async function runDoctor(jailName: string | undefined, options: DoctorOptions): Promise<void> {
  const checks: Check[] = [];
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
    const conn = await openLogs(options);
    try {
      await logChecks(ctx, conn, jails, options, checks);
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(logsErrorMessage(e, 'CloudWatch Logs'), ExitCode.Failure);
    } finally {
      conn.close();
    }
    const report = await enforcerCheck(ctx, conn.state, checks);
    await naclChecks(ctx, conn.state, options, report, checks);
    checks.push({
      check: 'agents',
      subject: 'host agents',
      status: 'skip',
      message: 'host agent tier: not configured (no heartbeats to read)',
    });
  });
  const failed = checks.some((c) => c.status === 'fail');
  const warned = checks.some((c) => c.status === 'warn');
  if (options.json) printJson({ checks, ok: !failed && !warned });
  else {
    const tag = { ok: '[ ok ]', warn: '[warn]', fail: '[FAIL]', skip: '[ -- ]' } as const;
    printLines(
      checks.map(
        (c) =>
          `${tag[c.status]} ${c.check}: ${c.message}${c.fix && c.status !== 'ok' ? `\n       fix: ${c.fix}` : ''}`,
      ),
    );
  }
  if (failed) process.exitCode = ExitCode.DoctorFailed;
  else if (warned) process.exitCode = ExitCode.DoctorWarnings;
}

async function logChecks(
  ctx: CliContext,
  conn: LogsConnection,
  jails: readonly JailConfig[],
  options: DoctorOptions,
  out: Check[],
): Promise<void> {
  const { DescribeSubscriptionFiltersCommand } = await import('@aws-sdk/client-cloudwatch-logs');
  const [{ loadBuiltinOrFileFilter }, { parseFilterPattern }, { sampleEvents }] = await Promise.all(
    [
      import('../../lambda/adapters/filter-files.js'),
      import('../../lambda/core/logs/filter-pattern.js'),
      import('../../lambda/core/diagnostics/sample-check.js'),
    ],
  );
  const now = ctx.now();
  // The detector the subscription must target.
  let detector: { match(arn: string): boolean; name: string };
  if (conn.state) {
    const arn = conn.state.logs?.detectorArn ?? '';
    detector = { match: (a) => a === arn, name: arn };
  } else {
    const fn = (await stackFunctions(options)).detector;
    detector = {
      match: (a) => fn !== undefined && a.endsWith(`:function:${fn}`),
      name: fn ?? 'the detector',
    };
  }
  const diagnostics = conn.state ? await localDiagnostics(conn.state) : undefined;
  // All jails reading a group decide its pattern, even with one jail asked about.
  const plan = subscriptionPlan(ctx.config.jails);
  for (const spec of plan.filter((s) => jails.some((j) => s.jails.includes(j.name)))) {
    if (!(await checkLogGroup(conn.client, spec.logGroup, spec.jails, now, out))) continue;
    const filters = await conn.client.send(
      new DescribeSubscriptionFiltersCommand({ logGroupName: spec.logGroup }),
    );
    const ours = (filters.subscriptionFilters ?? []).find((f) =>
      detector.match(f.destinationArn ?? ''),
    );
    const fixSub = `redeploy (npx cdk deploy): the stack installs subscription filter ${spec.filterName} with pattern ${JSON.stringify(spec.filterPattern)} targeting ${detector.name}`;
    if (!ours) {
      const others = (filters.subscriptionFilters ?? []).map(
        (f) => `${f.filterName} → ${f.destinationArn}`,
      );
      out.push({
        check: 'subscription',
        subject: spec.logGroup,
        status: 'fail',
        message: `no subscription filter of ${spec.logGroup} targets the detector${others.length ? ` (found: ${others.join(', ')})` : ''}: nothing reaches it`,
        fix: fixSub,
      });
    } else if ((ours.filterPattern ?? '') !== spec.filterPattern) {
      out.push({
        check: 'subscription',
        subject: spec.logGroup,
        status: 'warn',
        message: `subscription filter ${ours.filterName} has pattern ${JSON.stringify(ours.filterPattern ?? '')}, not the stack's ${JSON.stringify(spec.filterPattern)}`,
        fix: fixSub,
      });
    } else {
      out.push({
        check: 'subscription',
        subject: spec.logGroup,
        status: 'ok',
        message: `subscription filter ${ours.filterName} targets the detector, pattern ${JSON.stringify(spec.filterPattern)}`,
      });
    }
    // A sample of the last hour through each jail's filter (and the installed pattern).
    const events: { timestamp: number; message: string }[] = [];
    for await (const e of filterLogEvents(conn.client, {
      logGroup: spec.logGroup,
      startTime: now - HOUR,
      endTime: now,
    })) {
      events.push({ timestamp: e.timestamp ?? now, message: e.message ?? '' });
      if (events.length >= SAMPLE_EVENTS) break;
    }
    let pattern: ReturnType<typeof parseFilterPattern> | undefined;
    try {
      pattern = ours ? parseFilterPattern(ours.filterPattern ?? '') : undefined;
    } catch {
      pattern = undefined;
    }
    for (const jail of jails.filter((j) => spec.jails.includes(j.name))) {
      const matcher = loadBuiltinOrFileFilter(jail.filter).createMatcher({
        timeZone: jail.timezone,
      });
      const f = sampleEvents(events, matcher, pattern, now);
      const subject = `${jail.name} ${spec.logGroup}`;
      const dates = f.dateTemplates.map(([t, n]) => `${t} (${n})`).join(', ') || 'none';
      const summary = `last hour: ${f.events} event(s), ${f.lines} line(s), ${f.failures} failure(s) on ${f.failureLines} line(s); date templates: ${dates}${f.undated > 0 ? `; ${f.undated} undated line(s)` : ''}`;
      if (f.events === 0) {
        out.push({
          check: 'sample',
          subject,
          status: 'skip',
          message: `${jail.name}: no events in the last hour to sample`,
        });
      } else if (f.droppedFailureEvents > 0) {
        out.push({
          check: 'sample',
          subject,
          status: 'fail',
          message: `${jail.name}: ${summary}; the subscription pattern ${JSON.stringify(ours?.filterPattern ?? '')} drops ${f.droppedFailureEvents} of ${f.failureEvents} failure event(s), e.g. ${JSON.stringify(f.droppedExamples[0] ?? '')}`,
          fix: fixSub,
        });
      } else if (f.failures === 0 && f.lines > 0 && f.undated === f.lines) {
        out.push({
          check: 'sample',
          subject,
          status: 'warn',
          message: `${jail.name}: ${summary}; no line has a date the filter knows, e.g. ${JSON.stringify(f.missedExamples[0] ?? '')}`,
          fix: `check the logger's date format (cloudjail regex --log-group ${spec.logGroup} ${jail.filter})`,
        });
      } else if (f.failures === 0) {
        out.push({
          check: 'sample',
          subject,
          status: 'warn',
          message: `${jail.name}: ${summary}; missed e.g. ${f.missedExamples.map((m) => JSON.stringify(m)).join(', ')}`,
          fix: `if these lines are failures, the filter or the logger level is wrong: cloudjail regex --log-group ${spec.logGroup} ${jail.filter} --print-all-missed`,
        });
      } else {
        out.push({ check: 'sample', subject, status: 'ok', message: `${jail.name}: ${summary}` });
      }
    }
    // The detector's health for this group's deliveries.
    if (conn.state) {
      const d = diagnostics?.deliveries.find(
        (x) => x.logGroup === spec.logGroup && x.filterName === ours?.filterName,
      );
      if (!diagnostics) {
        out.push({
          check: 'detector',
          subject: spec.logGroup,
          status: 'skip',
          message: 'the local server reports no delivery counters',
        });
      } else if (d && (d.droppedEvents > 0 || (d.pendingEvents > 0 && d.failedAttempts > 0))) {
        out.push({
          check: 'detector',
          subject: spec.logGroup,
          status: 'fail',
          message: `detector rejects deliveries from ${spec.logGroup}: ${d.failedAttempts} failed attempt(s), ${d.pendingEvents} event(s) waiting, ${d.droppedEvents} dropped (DLQ); last error: ${d.lastError ?? '?'}`,
          fix: 'look at the local server output (store errors); deliveries are retried',
        });
      } else {
        out.push({
          check: 'detector',
          subject: spec.logGroup,
          status: 'ok',
          message: `detector: ${d?.deliveredEvents ?? 0} event(s) delivered, ${d?.failedAttempts ?? 0} failed attempt(s) (retried), 0 dropped (DLQ depth 0)`,
        });
      }
    }
  }
  if (!conn.state) await deployedDetectorCheck(conn.client, options, now, out);
}

/** Deployed: errors in the detector's own log group in the last hour; the DLQ is not read. */
async function deployedDetectorCheck(
  logs: CloudWatchLogsClient,
  options: DoctorOptions,
  now: number,
  out: Check[],
): Promise<void> {
  const fn = (await stackFunctions(options)).detector;
  if (!fn) {
    out.push({
      check: 'detector',
      subject: 'detector',
      status: 'skip',
      message: 'no DetectorFunctionName output',
    });
    return;
  }
  const { LambdaClient, GetFunctionConfigurationCommand } = await import('@aws-sdk/client-lambda');
  const lambda = new LambdaClient(options.region ? { region: options.region } : {});
  let group = `/aws/lambda/${fn}`;
  try {
    const cfg = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }));
    group = cfg.LoggingConfig?.LogGroup ?? group;
  } catch {
    // The default group name.
  } finally {
    lambda.destroy();
  }
  let errors = 0;
  let example = '';
  try {
    for await (const e of filterLogEvents(logs, {
      logGroup: group,
      startTime: now - HOUR,
      endTime: now,
      filterPattern: '?ERROR ?"Task timed out"',
    })) {
      errors++;
      example ||= (e.message ?? '').slice(0, 200);
    }
  } catch (e) {
    out.push({
      check: 'detector',
      subject: fn,
      status: 'warn',
      message: `cannot read ${group}: ${(e as Error).message}`,
    });
    return;
  }
  out.push(
    errors > 0
      ? {
          check: 'detector',
          subject: fn,
          status: 'fail',
          message: `detector ${fn}: ${errors} error line(s) in the last hour, e.g. ${JSON.stringify(example)}`,
          fix: `read ${group}; failed deliveries are retried, then go to the detector's DLQ (alarm DetectorDlq)`,
        }
      : {
          check: 'detector',
          subject: fn,
          status: 'ok',
          message: `detector ${fn}: no errors in ${group} in the last hour`,
        },
  );
  out.push({
    check: 'dlq',
    subject: fn,
    status: 'skip',
    message: 'DLQ depth: not read by the CLI (the stack alarms on it: DetectorDlq)',
  });
}

async function enforcerCheck(
  ctx: CliContext,
  state: LocalState | undefined,
  out: Check[],
): Promise<EnforcementReport | undefined> {
  let report: EnforcementReport | undefined;
  const last = state ? (await localDiagnostics(state))?.enforcerLastRun : undefined;
  try {
    report = await ctx.enforce('cloudjail doctor', { dryRun: true });
  } catch (e) {
    out.push({
      check: 'enforcer',
      subject: 'enforcer',
      status: 'fail',
      message: `the enforcer cannot run: ${(e as Error).message}`,
      fix: state
        ? 'restart `cloudjail local`'
        : 'redeploy (npx cdk deploy) and check the enforcer function and its role',
    });
    return undefined;
  }
  if (last && !last.ok) {
    out.push({
      check: 'enforcer',
      subject: 'enforcer',
      status: 'fail',
      message: `the enforcer's last run (${ago(last.at, ctx.now())}) failed: ${last.error}`,
      fix: 'see the local server output; the next scheduled run retries',
    });
    return report;
  }
  const errors = report.nacls.filter((n) => n.error !== undefined);
  const lastText = last
    ? `; last run ${ago(last.at, ctx.now())}: ${last.ok ? 'ok' : `failed: ${last.error}`}`
    : state
      ? '; no run yet'
      : '';
  if (errors.length > 0) {
    out.push({
      check: 'enforcer',
      subject: 'enforcer',
      status: 'fail',
      message: `enforcer (dry run): ${errors.map((n) => `${n.naclId}: ${n.error}`).join('; ')}${lastText}`,
      fix: 'check the targets in cdk.json (naclId, Region) and the enforcer role',
    });
  } else {
    out.push({
      check: 'enforcer',
      subject: 'enforcer',
      status: report.notEnforced > 0 ? 'warn' : 'ok',
      message: `enforcer (dry run): ${report.activeBans} active ban(s), ${report.notEnforced} not enforced, ${report.pending} pending${lastText}`,
      ...(report.notEnforced > 0
        ? {
            fix: 'more bans than the NACL bands hold: widen ipv4Band/ipv6Band, aggregate, or add the host tier',
          }
        : {}),
    });
  }
  return report;
}

async function naclChecks(
  ctx: CliContext,
  state: LocalState | undefined,
  options: DoctorOptions,
  report: EnforcementReport | undefined,
  out: Check[],
): Promise<void> {
  const { EC2Client, DescribeNetworkAclsCommand } = await import('@aws-sdk/client-ec2');
  const ec2: EC2Client = state
    ? new EC2Client({
        region: state.ec2.region,
        endpoint: state.ec2.endpoint,
        credentials: LOCAL_CREDENTIALS,
        maxAttempts: 1,
      })
    : new EC2Client(options.region ? { region: options.region } : {});
  try {
    for (const target of ctx.config.targets) {
      const fix = `check targets[].naclId ${target.naclId} in cdk.json and the Region`;
      let acl: import('@aws-sdk/client-ec2').NetworkAcl | undefined;
      try {
        acl = (await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [target.naclId] })))
          .NetworkAcls?.[0];
      } catch (e) {
        const name = (e as { name?: string }).name ?? '';
        out.push({
          check: 'nacl',
          subject: target.naclId,
          status: 'fail',
          message: `network ACL ${target.naclId}: ${/NotFound/.test(name) ? 'does not exist' : `${name}: ${(e as Error).message}`}`,
          fix,
        });
        continue;
      }
      if (!acl) {
        out.push({
          check: 'nacl',
          subject: target.naclId,
          status: 'fail',
          message: `network ACL ${target.naclId} does not exist`,
          fix,
        });
        continue;
      }
      const subnets = (acl.Associations ?? []).map((a) => a.SubnetId).filter(Boolean);
      out.push(
        subnets.length === 0
          ? {
              check: 'nacl',
              subject: target.naclId,
              status: 'fail',
              message: `network ACL ${target.naclId} is associated with no subnet: its denies filter nothing`,
              fix: 'associate it with the SBC subnets (or target the ACL those subnets use)',
            }
          : {
              check: 'nacl',
              subject: target.naclId,
              status: 'ok',
              message: `network ACL ${target.naclId} exists, associated with ${subnets.join(', ')}`,
            },
      );
      const foreign = report?.nacls.find((n) => n.naclId === target.naclId)?.foreign ?? [];
      out.push(
        foreign.length > 0
          ? {
              check: 'band',
              subject: target.naclId,
              status: 'warn',
              message: `${foreign.length} foreign entr${foreign.length === 1 ? 'y' : 'ies'} in cloudjail's band of ${target.naclId} (rules ${foreign.map((f) => f.ruleNumber).join(', ')}): cloudjail never touches them, so they take its capacity`,
              fix: `move them out of rules ${target.ipv4Band.first}-${target.ipv4Band.last} / ${target.ipv6Band.first}-${target.ipv6Band.last}, or move the band`,
            }
          : {
              check: 'band',
              subject: target.naclId,
              status: report ? 'ok' : 'skip',
              message: report
                ? `band ${target.ipv4Band.first}-${target.ipv4Band.last} / ${target.ipv6Band.first}-${target.ipv6Band.last} of ${target.naclId} holds no foreign entry`
                : `band of ${target.naclId}: not checked (the enforcer did not run)`,
            },
      );
    }
  } finally {
    ec2.destroy();
  }
}
