/**
 * Pure decisions of the sync step: whether a valid list is applied, and what changed between two
 * lists (for the one log line per change).
 */
import type { BanList, BanListGroup } from '../lambda/core/ban-list/schema.js';

export type ApplyDecision =
  | { readonly kind: 'apply'; readonly reason: 'first' | 'newer' | 'reapply' }
  | { readonly kind: 'older' }
  | { readonly kind: 'same' };

/**
 * A list is applied when its serial is newer than the applied one, or equal to it when the table
 * must be (re)made: on the agent's first sync (timeouts refreshed; after a reboot the kernel lost
 * the table) or when the table is missing. An older serial is never applied (a stale or replayed
 * object): the enforcement in place stays.
 */
export function decideApply(
  serial: number,
  appliedSerial: number | null,
  context: { readonly firstSync: boolean; readonly tableExists: boolean },
): ApplyDecision {
  if (appliedSerial === null) return { kind: 'apply', reason: 'first' };
  if (serial < appliedSerial) return { kind: 'older' };
  if (serial > appliedSerial) return { kind: 'apply', reason: 'newer' };
  return context.firstSync || !context.tableExists
    ? { kind: 'apply', reason: 'reapply' }
    : { kind: 'same' };
}

function groupKey(g: BanListGroup): string {
  return `${g.jails.join(',')}|${JSON.stringify(g.deny)}|${g.verdict}`;
}

function keys(list: BanList | undefined): Set<string> {
  const out = new Set<string>();
  for (const g of list?.groups ?? []) {
    const k = groupKey(g);
    for (const [cidr] of g.bans) out.add(`${k}|${cidr}`);
  }
  return out;
}

/** Bans (group + CIDR) added and removed from `before` to `after`. */
export function banDiff(
  before: BanList | undefined,
  after: BanList,
): { added: number; removed: number } {
  const old = keys(before);
  let added = 0;
  let kept = 0;
  for (const g of after.groups) {
    const k = groupKey(g);
    for (const [cidr] of g.bans) {
      if (old.has(`${k}|${cidr}`)) kept++;
      else added++;
    }
  }
  return { added, removed: old.size - kept };
}
