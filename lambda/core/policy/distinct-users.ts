/**
 * Counting DISTINCT user names per address (jail option `distinctUsers`): a scanner trying five
 * extensions is banned at maxretry 5, a phone with a stale password retrying one user is not.
 * Beyond fail2ban (CrowdSec's Asterisk scenario does the same): the user is the filter's `<F-USER>`
 * (or `<F-ALT_USER1>`) capture. A failure whose line has no user name counts on its own, as in a
 * normal jail, so ACL rejections and unknown-peer lines still ban.
 *
 * The user travels inside the failure id (`<event id>:<n>#u<hash>`), so the failure store and its
 * idempotence (a redelivered event never counts twice) are unchanged; the hash keeps ids short
 * whatever the attacker puts in a user name. Pure: no I/O, no clock.
 */
import {
  evaluateWindow,
  eventsAfter,
  type FailureEvent,
  failuresById,
  type WindowDecision,
} from './failure-window.js';

const TAG = /#u([0-9a-f]{8})$/;

/** FNV-1a, 32 bits, as 8 hex digits: a short, stable key of a user name. */
function userHash(user: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < user.length; i++) {
    h ^= user.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** The failure id carrying its user name (unchanged when there is none). */
export function tagUser(id: string, user: string | undefined): string {
  return user === undefined || user === '' ? id : `${id}#u${userHash(user)}`;
}

/** What a failure counts as: its user key, or its own id when it has no user. */
export function countingKey(id: string): string {
  const m = TAG.exec(id);
  return m ? `u${m[1]}` : `id${id}`;
}

/**
 * Like evaluateWindow, but a findtime window counts the distinct counting keys (users) of its
 * failures. Failures at or before `floor` are ignored (a ban consumes its failures).
 */
export function evaluateDistinctUsers(
  failures: readonly FailureEvent[],
  maxretry: number,
  findtime: number,
  floor = Number.NEGATIVE_INFINITY,
): WindowDecision {
  const events = eventsAfter(failures, floor);
  const inWindow = new Map<string, number>();
  let best = 0;
  let at: number | undefined;
  let start = 0;
  for (let end = 0; end < events.length; end++) {
    const e = events[end] as FailureEvent;
    while (e.time - (events[start] as FailureEvent).time >= findtime) {
      const key = countingKey((events[start] as FailureEvent).id);
      const n = (inWindow.get(key) ?? 1) - 1;
      if (n === 0) inWindow.delete(key);
      else inWindow.set(key, n);
      start++;
    }
    const key = countingKey(e.id);
    inWindow.set(key, (inWindow.get(key) ?? 0) + 1);
    if (inWindow.size > best) best = inWindow.size;
    if (at === undefined && inWindow.size >= maxretry) at = e.time;
  }
  return { count: best, ban: best >= maxretry, at, events };
}

/**
 * Keeps, of one batch's failures for a (jail, address), a subset that bans exactly when the whole
 * set would under distinct counting (also together with failures stored earlier), and is small:
 * 1. per user, a failure between a kept earlier one and a later one of the same user less than
 *    findtime apart is dropped: every window holding it holds one of them;
 * 2. walking from the newest, a failure is dropped when the kept ones within findtime after it
 *    already hold maxretry distinct users: that window bans already.
 * Deterministic, so a redelivered batch keeps the same failures.
 */
export function thinDistinctUsers(
  failures: readonly FailureEvent[],
  maxretry: number,
  findtime: number,
): FailureEvent[] {
  const byId = failuresById(failures);
  const order = (a: FailureEvent, b: FailureEvent) =>
    a.time !== b.time ? a.time - b.time : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  const perUser = new Map<string, FailureEvent[]>();
  for (const f of [...byId.values()].sort(order)) {
    const key = countingKey(f.id);
    const list = perUser.get(key) ?? [];
    list.push(f);
    perUser.set(key, list);
  }
  const survivors: FailureEvent[] = [];
  for (const list of perUser.values()) {
    let last: FailureEvent | undefined;
    list.forEach((f, i) => {
      const next = list[i + 1];
      // Every window holding f holds `last` (kept) or `next` (kept, or dropped by this same rule
      // against the same `last`, and so on up to the user's newest failure, always kept).
      if (last && next && next.time - last.time < findtime) return;
      survivors.push(f);
      last = f;
    });
  }
  survivors.sort((a, b) => -order(a, b));
  const kept: FailureEvent[] = [];
  for (const f of survivors) {
    const users = new Set<string>();
    for (const k of kept) if (k.time - f.time < findtime) users.add(countingKey(k.id));
    if (users.size < maxretry) kept.push(f);
  }
  return kept;
}

/** The window decision of a jail: distinct users when it counts them, else every failure. */
export function evaluateJailWindow(
  failures: readonly FailureEvent[],
  jail: { readonly maxretry: number; readonly findtime: number; readonly distinctUsers?: boolean },
  floor?: number,
): WindowDecision {
  return jail.distinctUsers
    ? evaluateDistinctUsers(failures, jail.maxretry, jail.findtime, floor)
    : evaluateWindow(failures, jail.maxretry, jail.findtime, floor);
}
