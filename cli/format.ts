/**
 * Human output shared by the CLI commands: times, durations, NACL tables and enforcer outcomes.
 * JSON output never goes through here.
 */
import type { Ban } from '../lambda/core/ban.js';
import { formatDuration } from '../lambda/core/policy/duration.js';
import type { NaclEntry } from '../lambda/ports/network-acls.js';
import type { EnforcementReport } from '../lambda/use-cases/enforce-bans.js';

/** `2024-11-05 03:12:16Z` (UTC, seconds). */
export function formatTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** `until 2024-11-05 04:12:16Z (in 59m)` or `permanent`. */
export function formatExpiry(expiresAt: number | null, now: number): string {
  if (expiresAt === null) return 'permanent';
  const left = expiresAt - now;
  // Whole minutes past the first hour: "in 23h59m", not "in 23h59m52s".
  const shown = left >= 3_600_000 ? Math.round(left / 60_000) * 60_000 : left;
  return `until ${formatTime(expiresAt)} (${left > 0 ? `in ${formatDuration(shown)}` : 'expired'})`;
}

/** A host CIDR as an address (`203.0.113.7/32` → `203.0.113.7`), other CIDRs unchanged. */
export function cidrAddress(cidr: string): string {
  if (!cidr.includes(':') && cidr.endsWith('/32')) return cidr.slice(0, -3);
  if (cidr.includes(':') && cidr.endsWith('/128')) return cidr.slice(0, -4);
  return cidr;
}

const PROTOCOLS: Readonly<Record<string, string>> = { '-1': 'all', '6': 'tcp', '17': 'udp' };

function protocolText(e: Pick<NaclEntry, 'protocol' | 'portRange'>): string {
  const name = PROTOCOLS[e.protocol] ?? e.protocol;
  if (!e.portRange) return name;
  const { from, to } = e.portRange;
  return `${name} ${from === to ? from : `${from}-${to}`}`;
}

/** An inbound NACL table, rule order, like the console's "Inbound rules" tab. */
export function naclTable(naclId: string, entries: readonly NaclEntry[]): string[] {
  const rows = entries
    .filter((e) => !e.egress)
    .sort((a, b) => a.ruleNumber - b.ruleNumber)
    .map((e) => {
      const rule = e.ruleNumber >= 32767 ? '*' : String(e.ruleNumber);
      return [rule, e.ruleAction.toUpperCase(), protocolText(e), e.cidr];
    });
  const head = ['Rule', 'Action', 'Protocol', 'Source'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    `  ${r.map((c, i) => (i === 0 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd();
  return [`network ACL ${naclId} (inbound):`, line(head), ...rows.map(line)];
}

/** One line per NACL: entries used/capacity and bans enforced/total per family, mutations, errors. */
export function enforcementLines(report: EnforcementReport): string[] {
  const lines: string[] = [];
  for (const n of report.nacls) {
    const fam = (label: string, f: EnforcementReport['nacls'][number]['ipv4']) =>
      `${label} entries ${f.entriesUsed}/${f.capacity}, bans ${f.enforced}/${f.bans}${f.pending ? `, ${f.pending} pending` : ''}${f.notEnforced ? `, ${f.notEnforced} NOT ENFORCED` : ''}`;
    lines.push(
      `  ${n.naclId}: ${fam('IPv4', n.ipv4)}; ${fam('IPv6', n.ipv6)}; ${n.mutations.length} change(s)${n.error ? `; ERROR ${n.error}` : ''}`,
    );
  }
  if (report.refused > 0) {
    lines.push(
      `  refused (allowlisted or broader than enforcement.minBanPrefix): ${report.refusedBans.map((r) => `${cidrAddress(r.cidr)} [${r.jail}] ${r.reason}`).join(', ')}`,
    );
  }
  if (report.dryRun) lines.push('  (dry run: nothing was changed)');
  return lines;
}

/** Where a CIDR is denied now, per the report: `acl-… rule 3`. */
export function denyLocations(report: EnforcementReport, cidr: string): string[] {
  return report.nacls.flatMap((n) =>
    n.entries.filter((e) => e.cidr === cidr).map((e) => `${n.naclId} rule ${e.ruleNumber}`),
  );
}

/** `203.0.113.7 [freeswitch] until … — 5 failures in 10m`. */
export function banLine(ban: Ban, now: number): string {
  return `${cidrAddress(ban.cidr)} [${ban.jail}] ${formatExpiry(ban.expiresAt, now)}${ban.reason ? ` — ${ban.reason}` : ''}`;
}
