/**
 * Ingest one CloudWatch Logs batch: match every event with the jails reading its log group, drop
 * allowlisted addresses, aggregate failures per (jail, address), record them idempotently, and
 * write a ban when a strict event-time window holds maxretry failures. Store requests scale with
 * the distinct (jail, address) pairs in the batch, not with its lines: one batched read of the
 * pairs' ban records (per 100 pairs), then one request per pair — a conditional ban write when the
 * batch alone reaches maxretry (the ban keeps the ids of the failures it consumed, so a redelivery
 * counts nothing and costs nothing), otherwise a window write, plus a ban write when the stored
 * window reaches maxretry — and one counter write per jail. Malformed events are logged and skipped; only store errors
 * reject (the invocation then fails and is retried, which is safe: counting is idempotent).
 * Table design and why this is race-free: docs/dynamodb.md.
 */
import type { JailConfig } from '../config/jail-config.js';
import { type Ban, isBanActive } from '../core/ban.js';
import type { LogMatcher } from '../core/filters/index.js';
import { CidrSet, hostCidr } from '../core/ip-address.js';
import { banDuration } from '../core/policy/ban-policy.js';
import { evaluateJailWindow, tagUser, thinDistinctUsers } from '../core/policy/distinct-users.js';
import { formatDuration, PERMANENT } from '../core/policy/duration.js';
import { type FailureEvent, failuresById, pruneFailures } from '../core/policy/failure-window.js';
import { applyOverride, type JailOverride } from '../core/policy/jail-overrides.js';
import type { BanStore, IgnoreEntry, PutBanResult } from '../ports/ban-store.js';
import type { EnforcementTrigger } from '../ports/enforcement-trigger.js';

export interface LogEvent {
  readonly id: string;
  readonly timestamp: number;
  readonly message: string;
}

export interface LogBatch {
  readonly logGroup: string;
  readonly logStream: string;
  readonly events: readonly LogEvent[];
}

/** A jail ready to run: its config and a factory of fresh matchers (per log stream). */
export interface JailRuntime {
  readonly config: JailConfig;
  createMatcher(): LogMatcher;
}

export interface IngestLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface IngestDeps {
  readonly store: BanStore;
  readonly trigger: EnforcementTrigger;
  readonly jails: readonly JailRuntime[];
  /** Global allowlist (config `ignoreip`), canonical CIDRs. */
  readonly ignoreip: readonly string[];
  /** Runtime allowlist (`cloudjail ignore add`); the caller caches it. */
  runtimeIgnores(): Promise<readonly IgnoreEntry[]>;
  /** Runtime per-jail overrides (`cloudjail set`); the caller caches them. */
  jailOverrides?(): Promise<readonly JailOverride[]>;
  readonly now: () => number;
  readonly logger?: IngestLogger;
  /** Concurrent store requests (default 16). */
  readonly concurrency?: number;
}

export interface IngestReport {
  readonly events: number;
  /** Failures found (before the allowlist). */
  readonly failures: number;
  readonly allowlisted: number;
  /** Events skipped: malformed (no id, message or timestamp), or a jail's matcher failed on them. */
  readonly skippedEvents: number;
  readonly pairs: number;
  /** Failures not stored before (0 when the same batch is delivered again). */
  readonly newFailures: number;
  readonly bans: readonly Ban[];
  /** Failures from addresses already banned in that jail. */
  readonly alreadyBanned: number;
  /** Failures dated more than MAX_FUTURE_MS after arrival, counted at arrival time instead. */
  readonly clampedFailures: number;
}

/**
 * A store error that failed the batch after part of it was recorded: `report` says what was (the
 * counters and the enforcer trigger already reflect it). The message is the store error's.
 */
export class IngestFailedError extends Error {
  constructor(
    readonly error: unknown,
    readonly report: IngestReport,
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = 'IngestFailedError';
  }
}

/**
 * A line's own date is the failure's time only within this distance of the CloudWatch event
 * timestamp; otherwise the timestamp is (a wrong `timezone`, a clock far off, or a date-like text
 * the date detector picked up would move failures out of each other's window).
 */
export const LINE_DATE_TOLERANCE_MS = 15 * 60_000;

/**
 * A failure may be dated at most this far after the batch's arrival (`now`); a later time (a host
 * clock years ahead, a forged timestamp) is clamped to the arrival time. Unclamped, its ban's
 * `lastFailureAt` would lie in the future and, as the floor below which failures no longer count,
 * block every real re-ban for the record's lifetime. Earlier times are kept: late batches count by
 * their own event time by design, and a time in the past only moves a failure out of windows.
 */
export const MAX_FUTURE_MS = 15 * 60_000;
/** Timestamps beyond JavaScript's Date range (±8.64e15 ms) are malformed, not dates. */
const MAX_TIMESTAMP_MS = 8.64e15;
/** Ids of failures consumed by earlier bans a re-ban's record keeps (redeliveries count nothing). */
const MAX_CONSUMED_HISTORY = 400;

/** How long a failure window outlives its latest failure before TTL may delete it, beyond findtime. */
const WINDOW_GRACE_MS = 3_600_000;
const MAX_MATCHES = 3;
/** Matched lines kept on a ban are cut to this length (an item is at most 400 KB). */
const MAX_MATCH_CHARS = 1000;
/** Conditional ban writes per (jail, address) before leaving it to the next batch. */
const MAX_BAN_ATTEMPTS = 3;
/** A batch bans on its own (ids kept on the ban) only with at most this many failures kept. */
const MAX_CONSUMED_IDS = 100;

interface Pending {
  readonly jail: JailRuntime;
  readonly address: string;
  readonly failures: FailureEvent[];
  readonly matches: string[];
}

interface Recorded {
  readonly pending: Pending;
  readonly cidr: string | undefined;
  readonly stored: readonly FailureEvent[];
}

/**
 * Runs `fn` over items with at most `limit` in flight, in order of the items. The first failure
 * stops starting new items; the run rejects with it once the items in flight have settled (so the
 * caller can account for every write that did happen before it fails the invocation).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  let error: unknown;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (e) {
        if (!failed) error = e;
        failed = true;
      }
    }
  };
  const workers = Math.min(
    Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : 16,
    items.length,
  );
  await Promise.all(Array.from({ length: workers }, worker));
  if (failed) throw error;
  return results;
}

/**
 * Keeps, of one batch's failures for a (jail, address), a subset that bans exactly when the whole
 * set would: walking from the newest, a failure is dropped when the kept ones already hold
 * `maxretry` failures within findtime after it. So some findtime window holds maxretry kept
 * failures whenever one held maxretry failures (also together with failures stored earlier and
 * after any ban floor), and a flood from one address stores at most maxretry failures per findtime
 * instead of thousands (the window item must stay far below DynamoDB's 400 KB). Deterministic, so a
 * redelivered batch keeps the same failures.
 */
export function thinFailures(
  failures: readonly FailureEvent[],
  maxretry: number,
  findtime: number,
): FailureEvent[] {
  const byId = failuresById(failures);
  const sorted = [...byId.values()].sort((a, b) =>
    a.time !== b.time ? b.time - a.time : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  const kept: FailureEvent[] = [];
  let tooLate = 0; // kept[0..tooLate) are findtime or more after the current failure
  for (const f of sorted) {
    while (tooLate < kept.length && (kept[tooLate] as FailureEvent).time - f.time >= findtime) {
      tooLate++;
    }
    if (kept.length - tooLate < maxretry) kept.push(f);
  }
  return kept;
}

interface DecideContext {
  readonly batch: LogBatch;
  readonly deps: IngestDeps;
  readonly now: number;
  readonly report: { alreadyBanned: number; bans: Ban[] };
  onCreated(ban: Ban): void;
  onFloor(floor: number): void;
}

/**
 * Decides and writes the ban of one (jail, address) whose failures reach maxretry, against the ban
 * record read before (`previous`): a conditional write, so of N concurrent writers exactly one
 * creates it; on a conflict the record is read again (at most MAX_BAN_ATTEMPTS writes). `alone`:
 * the failures are the batch's only (not stored in the window); the ban keeps their ids.
 */
async function decideBan(
  c: Recorded & { cidr: string },
  first: Ban | undefined,
  alone: boolean,
  ctx: DecideContext,
): Promise<PutBanResult | 'no-ban' | 'gave-up'> {
  const { batch, deps, now, report } = ctx;
  const cfg = c.pending.jail.config;
  const { address, failures, matches } = c.pending;
  let previous = first;
  let history: readonly Ban[] | undefined;
  for (let attempt = 0; attempt < MAX_BAN_ATTEMPTS; attempt++) {
    if (previous?.lastFailureAt !== undefined) ctx.onFloor(previous.lastFailureAt);
    if (previous && isBanActive(previous, now)) {
      report.alreadyBanned += failures.length;
      return 'already-banned';
    }
    const decision = evaluateJailWindow(c.stored, cfg, previous?.lastFailureAt);
    if (!decision.ban) return 'no-ban';
    if (cfg.increment.overalljails && history === undefined) {
      history = await deps.store.bansOf(c.cidr);
      previous = history.find((b) => b.jail === cfg.name);
      continue; // re-check the fresher record
    }
    const previousBans = cfg.increment.overalljails
      ? (history ?? []).reduce((n, b) => n + b.banCount, 0)
      : (previous?.banCount ?? 0);
    const duration = banDuration(cfg.bantime, previousBans, cfg.increment);
    const lastFailureAt = decision.events[decision.events.length - 1]?.time ?? now;
    const ban: Ban = {
      jail: cfg.name,
      cidr: c.cidr,
      createdAt: now,
      expiresAt: duration === PERMANENT ? null : now + duration,
      source: 'detector',
      failures: decision.count,
      banCount: (previous?.banCount ?? 0) + 1,
      reason: `${decision.count} ${cfg.distinctUsers ? 'distinct users' : 'failures'} in ${formatDuration(cfg.findtime)}`,
      matches,
      logGroup: batch.logGroup,
      logStream: batch.logStream,
      lastFailureAt,
      // A batch that bans alone keeps every failure id of its pair (not only the maxretry the
      // decision used), so the same events cut into other batches (backfill after live
      // delivery) count nothing twice.
      ...consumedIds(alone ? c.pending.failures.map((f) => f.id) : [], previous),
    };
    const result = await deps.store.putBan(ban, now, previous);
    if (result === 'created') {
      ctx.onCreated(ban);
      report.bans.push(ban);
      deps.logger?.info('ban created', {
        jail: cfg.name,
        address,
        cidr: c.cidr,
        failures: decision.count,
        banCount: ban.banCount,
        expiresAt: ban.expiresAt,
      });
      return result;
    }
    if (result === 'already-banned') {
      report.alreadyBanned += failures.length;
      return result;
    }
    // 'conflict': another writer changed the record since we read it; read it again.
    history = await deps.store.bansOf(c.cidr);
    previous = history.find((b) => b.jail === cfg.name);
  }
  deps.logger?.warn('ban record kept changing; left to the next batch', {
    jail: cfg.name,
    address,
    attempts: MAX_BAN_ATTEMPTS,
  });
  return 'gave-up';
}

/**
 * The failure ids a new ban record keeps: those it consumed itself (a batch that banned alone) and
 * those its predecessor kept, so a batch redelivered after a re-ban still counts nothing twice.
 */
function consumedIds(
  own: readonly string[],
  previous: Ban | undefined,
): { consumedFailureIds?: readonly string[] } {
  const ids = [...new Set([...own, ...(previous?.consumedFailureIds ?? [])])].slice(
    0,
    Math.max(own.length, MAX_CONSUMED_HISTORY),
  );
  return ids.length > 0 ? { consumedFailureIds: ids } : {};
}

/** The failure's event time: the line's own date when usable, else the CloudWatch timestamp. */
export function failureTime(lineTime: number | null, timestamp: number): number {
  return lineTime !== null &&
    Number.isFinite(lineTime) &&
    Math.abs(lineTime - timestamp) <= LINE_DATE_TOLERANCE_MS
    ? lineTime
    : timestamp;
}

/** Why an event cannot be used, or undefined when it is well-formed. */
function eventProblem(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return 'not an object';
  const e = event as Partial<Record<keyof LogEvent, unknown>>;
  if (typeof e.id !== 'string' || e.id === '') return 'no id string';
  if (typeof e.message !== 'string') return 'no message string';
  if (typeof e.timestamp !== 'number' || !Number.isFinite(e.timestamp)) {
    return 'no numeric timestamp';
  }
  if (Math.abs(e.timestamp) > MAX_TIMESTAMP_MS) return 'timestamp out of range';
  return undefined;
}

export async function ingestLogEvents(batch: LogBatch, deps: IngestDeps): Promise<IngestReport> {
  const now = deps.now();
  const overrides = (await deps.jailOverrides?.()) ?? [];
  const jails = deps.jails
    .filter((j) => j.config.logGroups.includes(batch.logGroup))
    .map((j) => {
      const config = applyOverride(j.config, overrides);
      return config === j.config ? j : { ...j, config };
    });
  const where = { logGroup: batch.logGroup, logStream: batch.logStream };
  const report = {
    events: batch.events.length,
    failures: 0,
    allowlisted: 0,
    skippedEvents: 0,
    pairs: 0,
    newFailures: 0,
    bans: [] as Ban[],
    alreadyBanned: 0,
    clampedFailures: 0,
  };
  if (jails.length === 0 || batch.events.length === 0) return report;

  const events: LogEvent[] = [];
  const ids = new Set<string>();
  batch.events.forEach((event, index) => {
    let problem = eventProblem(event);
    // An id twice in one batch is one event delivered twice: it counts once, as across batches.
    if (problem === undefined && ids.has(event.id)) problem = 'duplicate event id in the batch';
    if (problem === undefined) {
      ids.add(event.id);
      events.push(event);
      return;
    }
    report.skippedEvents++;
    const id = (event as { id?: unknown } | null)?.id;
    deps.logger?.warn('skipping malformed log event', {
      ...where,
      index,
      ...(typeof id === 'string' ? { eventId: id } : {}),
      problem,
    });
  });

  const runtime = await deps.runtimeIgnores();
  const global = CidrSet.parse([
    ...deps.ignoreip,
    ...runtime.filter((e) => e.jail === undefined).map((e) => e.cidr),
  ]);
  if (global.invalid.length > 0) {
    deps.logger?.warn('ignoring invalid allowlist entries', { entries: global.invalid });
  }
  const pending = new Map<string, Pending>();

  for (const jail of jails) {
    const name = jail.config.name;
    const jailSet = CidrSet.parse([
      ...jail.config.ignoreip,
      ...runtime.filter((e) => e.jail === name).map((e) => e.cidr),
    ]);
    if (jailSet.invalid.length > 0) {
      deps.logger?.warn('ignoring invalid allowlist entries', {
        jail: name,
        entries: jailSet.invalid,
      });
    }
    const matcher = jail.createMatcher();
    for (const event of events) {
      let outcomes: ReturnType<typeof matcher.matchEvent>;
      try {
        outcomes = matcher.matchEvent(event.message, { now, timestamp: event.timestamp });
      } catch (e) {
        report.skippedEvents++;
        deps.logger?.warn('skipping log event the filter failed on', {
          ...where,
          jail: name,
          eventId: event.id,
          error: (e as Error).message,
        });
        continue;
      }
      let k = 0;
      for (const outcome of outcomes) {
        for (const failure of outcome.failures) {
          // The event id plus the failure's position identify it across redeliveries.
          const id = tagUser(
            `${event.id}:${k++}`,
            jail.config.distinctUsers
              ? (failure.groups['user'] ?? failure.groups['alt_user1'])
              : undefined,
          );
          report.failures++;
          if (global.set.has(failure.host) || jailSet.set.has(failure.host)) {
            report.allowlisted++;
            continue;
          }
          const key = `${name}\u0000${failure.host}`;
          let p = pending.get(key);
          if (!p) {
            p = { jail, address: failure.host, failures: [], matches: [] };
            pending.set(key, p);
          }
          let time = failureTime(failure.time, event.timestamp);
          if (time > now + MAX_FUTURE_MS) {
            time = now;
            report.clampedFailures++;
          }
          p.failures.push({ id, time });
          if (p.matches.length < MAX_MATCHES)
            p.matches.push(failure.line.slice(0, MAX_MATCH_CHARS));
        }
      }
    }
  }
  if (report.clampedFailures > 0) {
    deps.logger?.warn('failures dated in the future counted at arrival time', {
      ...where,
      failures: report.clampedFailures,
      maxFutureMs: MAX_FUTURE_MS,
    });
  }
  report.pairs = pending.size;
  const concurrency = deps.concurrency ?? 16;

  // 1. One batched read of the ban records of every pair (one request per 100 pairs).
  const pairs = [...pending.values()].map((p) => ({ pending: p, cidr: hostCidr(p.address)?.text }));
  const records = new Map<string, Ban>();
  const keys = pairs.flatMap((c) =>
    c.cidr === undefined ? [] : [{ jail: c.pending.jail.config.name, cidr: c.cidr }],
  );
  if (keys.length > 0) {
    for (const b of await deps.store.getBans(keys)) records.set(`${b.jail}\u0000${b.cidr}`, b);
  }
  const recordOf = (c: { pending: Pending; cidr: string | undefined }) =>
    c.cidr === undefined ? undefined : records.get(`${c.pending.jail.config.name}\u0000${c.cidr}`);

  const failedPerJail = new Map<string, number>();
  const bannedPerJail = new Map<string, number>();
  const countFailed = (jail: string, n: number) =>
    failedPerJail.set(jail, (failedPerJail.get(jail) ?? 0) + n);
  const floors = new Map<Recorded, number>();
  const decide = (c: Recorded & { cidr: string }, previous: Ban | undefined, alone: boolean) =>
    decideBan(c, previous, alone, {
      batch,
      deps,
      now,
      report,
      onCreated: (ban) => {
        floors.set(c, ban.lastFailureAt ?? now);
        bannedPerJail.set(ban.jail, (bannedPerJail.get(ban.jail) ?? 0) + 1);
      },
      onFloor: (floor) => floors.set(c, floor),
    });

  // 2. One request per (jail, address): a batch that bans on its own is one conditional ban write
  //    (its failures are consumed by the ban, their ids kept on it); any other records its failures
  //    and reads the whole window back.
  const recorded: Recorded[] = [];
  const settled = new Set<Pending>();
  const recordPair = async (c: (typeof pairs)[number]) => {
    const p = c.pending;
    const cfg = p.jail.config;
    let previous = recordOf(c);
    const thinned = (cfg.distinctUsers ? thinDistinctUsers : thinFailures)(
      p.failures,
      cfg.maxretry,
      cfg.findtime,
    );
    const unconsumed = (record: Ban | undefined) => {
      const consumed = new Set(record?.consumedFailureIds ?? []);
      return consumed.size > 0 ? thinned.filter((f) => !consumed.has(f.id)) : thinned;
    };
    let kept = unconsumed(previous);
    if (kept.length === 0) {
      // Every failure was consumed by the ban already: a redelivery.
      if (previous && isBanActive(previous, now)) report.alreadyBanned += p.failures.length;
      return;
    }
    if (
      c.cidr !== undefined &&
      !(previous && isBanActive(previous, now)) &&
      !cfg.increment.overalljails &&
      new Set(p.failures.map((f) => f.id)).size <= MAX_CONSUMED_IDS &&
      evaluateJailWindow(kept, cfg, previous?.lastFailureAt).ban
    ) {
      const alone = { pending: p, cidr: c.cidr, stored: kept };
      const outcome = await decide(alone, previous, true);
      if (outcome === 'created') {
        report.newFailures += p.failures.length;
        countFailed(cfg.name, p.failures.length);
        return;
      }
      // Not created: a concurrent invocation banned first (possibly with this very batch, which
      // CloudWatch may deliver to several containers at once) or the record changed. What the
      // current record consumed is counted already; the rest goes through the window.
      if (outcome === 'already-banned') settled.add(p); // step 3 would find the same ban
      [previous] = await deps.store.getBans([{ jail: cfg.name, cidr: c.cidr }]);
      if (previous) records.set(`${cfg.name}\u0000${c.cidr}`, previous);
      kept = unconsumed(previous);
      if (kept.length === 0) return;
    }
    let latest = now;
    for (const f of kept) if (f.time > latest) latest = f.time;
    const { failures: stored, added } = await deps.store.recordFailures(
      cfg.name,
      p.address,
      kept,
      latest + cfg.findtime + WINDOW_GRACE_MS,
    );
    // Failures thinned away count as new exactly when the batch was new.
    const fresh = added === 0 ? 0 : added + (p.failures.length - thinned.length);
    report.newFailures += fresh;
    countFailed(cfg.name, fresh);
    recorded.push({ pending: p, cidr: c.cidr, stored });
  };

  // A store error fails the invocation (Lambda retries the batch), but only after the counters
  // hold what was written and the enforcer knows of the bans written: the retry finds those
  // failures recorded and counts nothing twice.
  let failure: { error: unknown } | undefined;
  try {
    await mapLimit(pairs, concurrency, recordPair);

    // 3. Windows that hold maxretry failures: decide on the ban records read in step 1.
    const candidates = recorded.filter(
      (r): r is Recorded & { cidr: string } =>
        r.cidr !== undefined &&
        !settled.has(r.pending) &&
        evaluateJailWindow(r.stored, r.pending.jail.config).ban,
    );
    await mapLimit(candidates, concurrency, (c) => decide(c, recordOf(c), false));

    // 4. Keep windows small: forget failures no decision can need any more.
    await mapLimit(recorded, concurrency, (r) =>
      prune(deps.store, r.pending.jail.config, r.pending.address, r.stored, now, floors.get(r)),
    );
  } catch (error) {
    failure = { error };
  }

  const stats = await Promise.allSettled(
    [...new Set([...failedPerJail.keys(), ...bannedPerJail.keys()])].flatMap((jail) => {
      const failed = failedPerJail.get(jail) ?? 0;
      const banned = bannedPerJail.get(jail) ?? 0;
      return failed > 0 || banned > 0 ? [deps.store.addStats(jail, failed, banned)] : [];
    }),
  );
  for (const s of stats) {
    if (s.status === 'rejected') failure ??= { error: s.reason };
  }
  if (report.bans.length > 0) {
    // A lost trigger is harmless (the scheduled enforcer run converges), so it never fails the batch.
    try {
      await deps.trigger.trigger(`${report.bans.length} new ban(s) from ${batch.logGroup}`);
    } catch (e) {
      deps.logger?.warn('enforcer trigger failed; the scheduled run will converge', {
        ...where,
        bans: report.bans.length,
        error: (e as Error).message,
      });
    }
  }
  if (failure) throw new IngestFailedError(failure.error, report);
  return report;
}

/**
 * Drops, once a window holds more than a few maxretry of failures, those no decision can need:
 * older than two findtimes before now, or consumed by a ban (at or before its last failure).
 */
async function prune(
  store: BanStore,
  cfg: JailConfig,
  address: string,
  stored: readonly FailureEvent[],
  now: number,
  floor: number | undefined,
): Promise<void> {
  if (stored.length <= Math.max(4 * cfg.maxretry, 32)) return;
  const { drop } = pruneFailures(stored, now - 2 * cfg.findtime, floor);
  if (drop.length > 0) await store.forgetFailures(cfg.name, address, drop);
}
