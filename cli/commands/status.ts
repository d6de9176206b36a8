/**
 * `cloudjail status [JAIL]`: like `fail2ban-client status [JAIL]`. Without a jail: every jail with
 * its failed/banned counts, the active bans, and per NACL the capacity used and the bans not
 * enforced (from a dry run of the enforcer: nothing is changed). With a jail: currently/total failed,
 * the failing addresses, and the banned list with expiry and reason.
 */
import type { Command } from 'commander';
import { formatDuration } from '../../lambda/core/policy/duration.js';
import { readAgentHealth } from '../../lambda/use-cases/agent-fleet-health.js';
import {
  type BanPlacement,
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
import { hostTierStatus } from '../tiers.js';

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

/** The enforcer's dry-run view; the ban table is still worth showing when it cannot be reached. */
async function dryRunView(
  ctx: CliContext,
): Promise<{ enforcement?: EnforcementView; enforcementError?: string }> {
  try {
    return {
      enforcement: enforcementView(await ctx.enforce('cloudjail status', { dryRun: true })),
    };
  } catch (e) {
    return { enforcementError: e instanceof Error ? e.message : String(e) };
  }
}

/** `denied in acl-1 (via 198.51.100.0/24)` / `NOT ENFORCED in acl-1 (no capacity)` / `REFUSED …`. */
export function placementText(p: BanPlacement): string {
  if (p.refused) {
    return `REFUSED by the enforcer (${p.refused === 'allowlisted' ? 'overlaps the allowlist' : 'broader than enforcement.minBanPrefix'}): enforced nowhere`;
  }
  const by = (state: string) => p.nacls.filter((n) => n.state === state);
  const parts: string[] = [];
  const enforced = by('enforced');
  if (enforced.length > 0) {
    parts.push(
      `denied in ${enforced.map((n) => `${n.naclId}${n.via ? ` (via ${n.via})` : ''}`).join(', ')}`,
    );
  }
  const missing = by('not-enforced');
  if (missing.length > 0) {
    parts.push(`NOT ENFORCED in ${missing.map((n) => n.naclId).join(', ')} (no capacity)`);
  }
  const pending = by('pending');
  if (pending.length > 0) parts.push(`pending in ${pending.map((n) => n.naclId).join(', ')}`);
  const failed = by('error');
  if (failed.length > 0) parts.push(`NACL error in ${failed.map((n) => n.naclId).join(', ')}`);
  return parts.join('; ') || 'no target NACL';
}

async function overview(ctx: CliContext, options: StatusOptions): Promise<void> {
  const { enforcement, enforcementError } = await dryRunView(ctx);
  const status = await statusOverview(deps(ctx), enforcement);
  const agents = await agentsView(ctx);
  const hosts = await hostTierStatus(ctx.banList, ctx.now());
  if (options.json) {
    printJson({
      ...status,
      ...(enforcementError ? { enforcementError } : {}),
      ...hosts.json,
      ...(agents ? { agents } : {}),
    });
    return;
  }
  const lines = [
    `Status (${ctx.where})`,
    `|- Number of jails:\t${status.jails.length}`,
    `|- Jail list:\t${status.jails.map((j) => j.jail).join(', ')}`,
    `|- Active bans:\t${status.activeBans}`,
    hosts.line,
  ];
  if (agents) lines.push(...agentLines(agents));
  if (enforcement) {
    lines.push(`|- Not enforced (no NACL capacity):\t${enforcement.notEnforced}`);
    if (enforcement.pending > 0)
      lines.push(`|- Pending (next enforcer run):\t${enforcement.pending}`);
    if (enforcement.refused > 0)
      lines.push(`|- Refused (allowlisted or too broad):\t${enforcement.refused}`);
    const unenforced = status.notEnforcedBans ?? [];
    if (unenforced.length > 0) {
      lines.push('|- Bans not enforced everywhere:');
      for (const b of unenforced.slice(0, 50)) {
        lines.push(`|    ${cidrAddress(b.cidr)} [${b.jail}]: ${placementText(b.enforcement)}`);
      }
      if (unenforced.length > 50) lines.push(`|    … and ${unenforced.length - 50} more (--json)`);
    }
    lines.push('`- Network ACLs (NACL entries used/capacity; bans enforced/total):');
    const fam = (label: string, f: EnforcementView['nacls'][number]['ipv4']) =>
      `${label} entries ${f.entriesUsed ?? f.enforced}/${f.capacity}, bans ${f.enforced}/${f.bans ?? f.enforced + f.pending + f.notEnforced}`;
    enforcement.nacls.forEach((n, i) => {
      const last = i === enforcement.nacls.length - 1;
      lines.push(
        `   ${last ? '`-' : '|-'} ${n.naclId}: ${fam('IPv4', n.ipv4)}; ${fam('IPv6', n.ipv6)}${n.ipv4.notEnforced + n.ipv6.notEnforced > 0 ? `; ${n.ipv4.notEnforced + n.ipv6.notEnforced} not enforced` : ''}${n.error ? `; ERROR ${n.error}` : ''}`,
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

type AgentsView = Awaited<ReturnType<typeof readAgentHealth>> | { readonly error: string };

/** The host tier: undefined when the context has no agents (no S3 / agents not enabled). */
async function agentsView(ctx: CliContext): Promise<AgentsView | undefined> {
  if (!ctx.agentHeartbeats) return undefined;
  try {
    return await readAgentHealth(ctx.agentHeartbeats, ctx.config.agents.staleAfterMs, ctx.now());
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

function agentLines(agents: AgentsView): string[] {
  if ('error' in agents) return [`|- Host agents:\tunavailable (${agents.error})`];
  const lines = [
    `|- Host agents:\t${agents.current} current, ${agents.behind} behind, ${agents.silent} silent (published serial ${agents.publishedSerial ?? 'none'})`,
  ];
  agents.agents.forEach((a, i) => {
    const last = i === agents.agents.length - 1;
    lines.push(
      `|  ${last ? '`-' : '|-'} ${a.agentId}: ${a.state}, serial ${a.appliedSerial ?? 'none'}, ${a.elements} elements, heartbeat ${formatDuration(Math.round(a.ageMs / 1000) * 1000)} ago${a.lastError ? `, ERROR ${a.lastError}` : ''}`,
    );
  });
  return lines;
}

async function detail(ctx: CliContext, jail: string, options: StatusOptions): Promise<void> {
  const { enforcement, enforcementError } = await dryRunView(ctx);
  const status = await jailStatus(jail, deps(ctx), enforcement);
  if (!status) {
    throw new CliError(
      `no jail ${JSON.stringify(jail)} (jails: ${[...ctx.config.jails.map((j) => j.name), 'manual'].join(', ')})`,
      ExitCode.NotFound,
    );
  }
  const cfg = ctx.config.jails.find((j) => j.name === jail);
  const settings = cfg ? jailSettings(cfg, await ctx.store.listJailOverrides()) : undefined;
  if (options.json) {
    printJson({
      ...status,
      ...(enforcementError ? { enforcementError } : {}),
      ...(settings ? { settings } : {}),
    });
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
        `      ${b.enforcement ? placementText(b.enforcement) : `enforcement unknown (${enforcementError})`}`,
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
