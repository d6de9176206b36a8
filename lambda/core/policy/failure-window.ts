/**
 * Counting "maxretry failures within findtime" — a strict sliding window by EVENT time.
 *
 * fail2ban keeps one ticket per address with firstTime/lastTime/retry and, when a failure arrives
 * more than findtime after firstTime, rescales retry = round(retry / (t - firstTime) × findtime):
 * a rate estimate that can ban on fewer failures than maxretry inside any real findtime window, and
 * depends on arrival order. cloudjail instead stores every failure's event id and event time and
 * bans only when some interval of length findtime holds at least maxretry distinct failures.
 * Because events are identified by their CloudWatch event id, a redelivered event never counts
 * twice, and because the window is by event time, late or out-of-order batches count correctly.
 *
 * Pure: no I/O, no clock.
 */

/** One failure as stored: the CloudWatch event id (plus line index) and its event time. */
export interface FailureEvent {
  readonly id: string;
  readonly time: number;
}

export interface WindowDecision {
  /** Distinct failures in the densest findtime window. */
  readonly count: number;
  /** True when count >= maxretry. */
  readonly ban: boolean;
  /** Event time of the failure that completed the first qualifying window (the ban's createdAt). */
  readonly at: number | undefined;
  /** Distinct failures newer than `floor`, sorted by time. */
  readonly events: readonly FailureEvent[];
}

/**
 * The distinct failures (by event id, the first one seen) dated after `floor`, sorted by time:
 * what a window decision counts over.
 */
export function eventsAfter(failures: readonly FailureEvent[], floor: number): FailureEvent[] {
  const byId = new Map<string, number>();
  for (const f of failures) {
    if (f.time > floor && !byId.has(f.id)) byId.set(f.id, f.time);
  }
  return [...byId].map(([id, time]) => ({ id, time })).sort((a, b) => a.time - b.time);
}

/**
 * Decides a ban from all known failures of one (jail, address). Failures at or before `floor`
 * (the last failure that caused the previous ban) are ignored: a ban consumes its failures, as
 * fail2ban deletes the ticket on ban.
 */
export function evaluateWindow(
  failures: readonly FailureEvent[],
  maxretry: number,
  findtime: number,
  floor = Number.NEGATIVE_INFINITY,
): WindowDecision {
  const events = eventsAfter(failures, floor);
  let best = 0;
  let at: number | undefined;
  let start = 0;
  for (let end = 0; end < events.length; end++) {
    const endTime = (events[end] as FailureEvent).time;
    while (endTime - (events[start] as FailureEvent).time >= findtime) start++;
    const count = end - start + 1;
    if (count > best) best = count;
    if (at === undefined && count >= maxretry) at = endTime;
  }
  return { count: best, ban: best >= maxretry, at, events };
}

/**
 * Keeps what later decisions can still need: failures at or after `horizon` and, when a ban
 * consumed the failures up to `floor` (its last failure), after `floor`.
 */
export function pruneFailures(
  failures: readonly FailureEvent[],
  horizon: number,
  floor?: number,
): { keep: FailureEvent[]; drop: FailureEvent[] } {
  const keep: FailureEvent[] = [];
  const drop: FailureEvent[] = [];
  for (const f of failures) {
    (f.time >= horizon && (floor === undefined || f.time > floor) ? keep : drop).push(f);
  }
  return { keep, drop };
}

/** One failure per event id (the earliest time of an id seen twice), keyed by id. */
export function failuresById(failures: readonly FailureEvent[]): Map<string, FailureEvent> {
  const byId = new Map<string, FailureEvent>();
  for (const f of failures) {
    const known = byId.get(f.id);
    if (!known || f.time < known.time) byId.set(f.id, f);
  }
  return byId;
}
