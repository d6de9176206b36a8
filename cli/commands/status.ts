/**
 * `cloudjail status [JAIL]`: like `fail2ban-client status [JAIL]`. Without a jail: every jail with
 * its failed/banned counts, the active bans, and per NACL the capacity used and the bans not
 * enforced (from a dry run of the enforcer: nothing is changed). With a jail: currently/total failed,
 * the failing addresses, and the banned list with expiry and reason.
 */
import type { Command } from 'commander';
import {
  type EnforcementView,
  enforcementView,
  jailStatus,
  statusOverview,
} from '../../lambda/use-cases/jail-status.js';
import {
  addConnectionOptions,
  type CliContext,
  type ConnectionOptions,
  withContext,
} from '../context.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { cidrAddress, formatExpiry, formatTime } from '../format.js';
import { printJson, printLines } from '../input.js';
import { jailSettings, settingsLines } from '../jail-settings.js';

interface StatusOptions extends ConnectionOptions {
  readonly json?: boolean;
}

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('status')
      .description('jails, failures, active bans and NACL capacity; with JAIL: that jail in detail')
      .argument('[jail]', 'one jail (as fail2ban-client status JAIL)')
      .option('--json', 'one JSON object on stdout'),
  )
    .addHelpText('after', '\nExit codes: 0 ok, 4 unknown jail, 1 store/AWS error.')
    .action(async (jail: string | undefined, options: StatusOptions) => {
      await withContext(options, (ctx) =>
        jail === undefined ? overview(ctx, options) : detail(ctx, jail, options),
      );
    });
}

function deps(ctx: CliContext) {
  return {
    store: ctx.store,
    failures: ctx.failures,
    jails: ctx.config.jails,
    now: () => ctx.now(),
  };
}

async function overview(ctx: CliContext, options: StatusOptions): Promise<void> {
  let enforcement: EnforcementView | undefined;
  let enforcementError: string | undefined;
  try {
    enforcement = enforcementView(await ctx.enforce('cloudjail status', { dryRun: true }));
  } catch (e) {
    // The ban table is still worth showing when the enforcer cannot be reached.
    enforcementError = e instanceof Error ? e.message : String(e);
  }
  const status = await statusOverview(deps(ctx), enforcement);
  if (options.json) {
    printJson({ ...status, ...(enforcementError ? { enforcementError } : {}) });
    return;
  }
  const lines = [
    `Status (${ctx.where})`,
    `|- Number of jails:\t${status.jails.length}`,
    `|- Jail list:\t${status.jails.map((j) => j.jail).join(', ')}`,
    `|- Active bans:\t${status.activeBans}`,
  ];
  if (enforcement) {
    lines.push(`|- Not enforced (no NACL capacity):\t${enforcement.notEnforced}`);
    if (enforcement.pending > 0)
      lines.push(`|- Pending (next enforcer run):\t${enforcement.pending}`);
    lines.push('`- Network ACLs (cloudjail entries used/capacity):');
    enforcement.nacls.forEach((n, i) => {
      const last = i === enforcement.nacls.length - 1;
      lines.push(
        `   ${last ? '`-' : '|-'} ${n.naclId}: IPv4 ${n.ipv4.enforced}/${n.ipv4.capacity}, IPv6 ${n.ipv6.enforced}/${n.ipv6.capacity}${n.ipv4.notEnforced + n.ipv6.notEnforced > 0 ? `, ${n.ipv4.notEnforced + n.ipv6.notEnforced} not enforced` : ''}${n.error ? `, ERROR ${n.error}` : ''}`,
      );
    });
  } else lines.push(`\`- Network ACLs: unavailable (${enforcementError})`);
  lines.push('');
  const head = ['Jail', 'Currently failed', 'Total failed', 'Currently banned', 'Total banned'];
  const rows = status.jails.map((j) => [
    j.jail,
    String(j.currentlyFailed),
    String(j.totalFailed),
    String(j.currentlyBanned),
    String(j.totalBanned),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const r of [head, ...rows]) {
    lines.push(
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '),
    );
  }
  printLines(lines);
}

async function detail(ctx: CliContext, jail: string, options: StatusOptions): Promise<void> {
  const status = await jailStatus(jail, deps(ctx));
  if (!status) {
    throw new CliError(
      `no jail ${JSON.stringify(jail)} (jails: ${[...ctx.config.jails.map((j) => j.name), 'manual'].join(', ')})`,
      ExitCode.NotFound,
    );
  }
  const cfg = ctx.config.jails.find((j) => j.name === jail);
  const settings = cfg ? jailSettings(cfg, await ctx.store.listJailOverrides()) : undefined;
  if (options.json) {
    printJson({ ...status, ...(settings ? { settings } : {}) });
    return;
  }
  const now = ctx.now();
  const lines = [
    `Status for the jail: ${status.jail}`,
    '|- Filter',
    `|  |- Currently failed:\t${status.currentlyFailed}`,
    `|  |- Total failed:\t${status.totalFailed}`,
    `|  \`- Log groups:\t${status.logGroups.join(' ') || '-'}`,
    '`- Actions',
    `   |- Currently banned:\t${status.currentlyBanned}`,
    `   |- Total banned:\t${status.totalBanned}`,
    `   \`- Banned IP list:\t${status.banned.map((b) => cidrAddress(b.cidr)).join(' ')}`,
  ];
  if (status.banned.length > 0) {
    lines.push('', 'Banned:');
    for (const b of status.banned) {
      lines.push(
        `  ${cidrAddress(b.cidr)}  ${formatExpiry(b.expiresAt, now)}  since ${formatTime(b.createdAt)}  ${b.source}${b.banCount > 1 ? ` (ban #${b.banCount})` : ''}${b.reason ? `  ${b.reason}` : ''}`,
      );
    }
  }
  if (status.failing.length > 0) {
    lines.push('', 'Currently failing:');
    for (const f of status.failing) {
      lines.push(`  ${f.address}  ${f.failures} failure(s), last ${formatTime(f.lastFailureAt)}`);
    }
  }
  if (settings) lines.push('', ...settingsLines(settings));
  printLines(lines);
}
