/**
 * Human lines for the two enforcement tiers (docs/enforcement.md "Two tiers"): per NACL how many
 * of the active bans it enforces, and the host tier's published ban list.
 */
import { formatDuration } from '../lambda/core/policy/duration.js';
import type { BanListReader, PublishedBanList } from '../lambda/ports/ban-list-publisher.js';
import type { EnforcementReport } from '../lambda/use-cases/enforce-bans.js';

/** `12.3 kB` */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** `NACL tier: acl-…: 28 of 100 active bans enforced, 72 not enforced (no capacity)` per NACL. */
export function naclTierLines(report: EnforcementReport): string[] {
  return report.nacls.map((n) => {
    const enforced = n.ipv4.enforced + n.ipv6.enforced;
    const missing = report.activeBans - enforced;
    return `NACL tier: ${n.naclId}: ${enforced} of ${report.activeBans} active bans enforced${missing > 0 ? `, ${missing} not enforced (no capacity${n.ipv4.pending + n.ipv6.pending > 0 ? ' or pending' : ''})` : ''}${n.error ? `; ERROR ${n.error}` : ''}`;
  });
}

/** The host tier after an enforcer run: serial, how many bans the list holds, or its error. */
export function hostTierLine(report: EnforcementReport): string {
  const p = report.publication;
  if (!p) return 'host tier: no ban list published (dry run, or no publisher)';
  const serial = p.serial === null ? 'none' : String(p.serial);
  if (p.error) {
    return `host tier: ban list NOT published (${p.error}); serial ${serial} stays, ${p.notPublished} ban(s) missing from it`;
  }
  const all = p.bans === report.activeBans ? `all ${p.bans}` : `${p.bans} of ${report.activeBans}`;
  return `host tier: ban list serial ${serial}, ${all} active bans published (${formatBytes(p.bytes)}, every SBC running cloudjail agent enforces them)`;
}

/** The published list as `status` shows it: serial, bans, age. */
export function publishedLine(published: PublishedBanList | undefined, now: number): string {
  if (!published) return 'none published yet';
  const age = Math.max(0, now - published.generatedAt);
  return `serial ${published.serial}, ${published.bans} ban(s), ${formatBytes(published.bytes)}, made ${formatDuration(Math.max(1000, Math.round(age / 1000) * 1000))} ago`;
}

/**
 * `status`'s host-tier part: the published list's metadata (one HeadObject), as a line and as
 * `--json` fields: `"publication": {"serial", "bans", "bytes", "generatedAt", "ageMs"} | null`
 * (null: none published or no ban-list bucket), `"publicationError"` when it cannot be read.
 */
export async function hostTierStatus(
  reader: BanListReader | undefined,
  now: number,
): Promise<{ line: string; json: Record<string, unknown> }> {
  if (!reader) {
    return {
      line: '|- Host tier (published ban list):\tno ban-list bucket in this deployment',
      json: { publication: null },
    };
  }
  try {
    const published = await reader.current();
    return {
      line: `|- Host tier (published ban list):\t${publishedLine(published, now)}`,
      json: {
        publication: published
          ? {
              serial: published.serial,
              bans: published.bans,
              bytes: published.bytes,
              generatedAt: published.generatedAt,
              ageMs: Math.max(0, now - published.generatedAt),
            }
          : null,
      },
    };
  } catch (e) {
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return {
      line: `|- Host tier (published ban list):\tunavailable (${error})`,
      json: { publication: null, publicationError: error },
    };
  }
}
