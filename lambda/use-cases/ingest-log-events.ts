/**
 * Ingest one CloudWatch Logs batch: match every event with the jails reading its log group, drop
 * allowlisted addresses, aggregate failures per (jail, address), record them idempotently, and
 * write a ban when a strict event-time window holds maxretry failures. Store requests scale with
 * the distinct (jail, address) pairs in the batch, not with its lines.
 */
import type { JailConfig } from '../config/jail-config.js';
import { type Ban, isBanActive } from '../core/ban.js';
import type { LogMatcher } from '../core/filters/index.js';
import { CidrSet, hostCidr } from '../core/ip-address.js';
import { banDuration } from '../core/policy/ban-policy.js';
import { formatDuration, PERMANENT } from '../core/policy/duration.js';
import { evaluateWindow, type FailureEvent, pruneFailures } from '../core/policy/failure-window.js';
import type { BanStore, IgnoreEntry } from '../ports/ban-store.js';
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
  readonly skippedEvents: number;
  readonly pairs: number;
  readonly bans: readonly Ban[];
  /** Failures from addresses already banned in that jail. */
  readonly alreadyBanned: number;
}

const MAX_MATCHES = 3;

interface Pending {
  readonly jail: JailRuntime;
  readonly address: string;
  readonly failures: FailureEvent[];
  readonly matches: string[];
}

/** Runs `fn` over items with at most `limit` in flight. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function ingestLogEvents(batch: LogBatch, deps: IngestDeps): Promise<IngestReport> {
  const now = deps.now();
  const jails = deps.jails.filter((j) => j.config.logGroups.includes(batch.logGroup));
  const report = {
    events: batch.events.length,
    failures: 0,
    allowlisted: 0,
    skippedEvents: 0,
    pairs: 0,
    bans: [] as Ban[],
    alreadyBanned: 0,
  };
  if (jails.length === 0 || batch.events.length === 0) return report;

  const runtime = await deps.runtimeIgnores();
  const globalSet = CidrSet.parse([
    ...deps.ignoreip,
    ...runtime.filter((e) => e.jail === undefined).map((e) => e.cidr),
  ]).set;
  const pending = new Map<string, Pending>();
  const failedPerJail = new Map<string, number>();

  for (const jail of jails) {
    const jailSet = CidrSet.parse([
      ...jail.config.ignoreip,
      ...runtime.filter((e) => e.jail === jail.config.name).map((e) => e.cidr),
    ]).set;
    const matcher = jail.createMatcher();
    for (const event of batch.events) {
      if (typeof event?.message !== 'string' || typeof event.id !== 'string') {
        report.skippedEvents++;
        deps.logger?.warn('skipping malformed log event', {
          logGroup: batch.logGroup,
          logStream: batch.logStream,
          eventId: typeof event?.id === 'string' ? event.id : undefined,
        });
        continue;
      }
      const timestamp = Number.isFinite(event.timestamp) ? event.timestamp : now;
      const outcomes = matcher.matchEvent(event.message, { now, timestamp });
      let k = 0;
      for (const outcome of outcomes) {
        for (const failure of outcome.failures) {
          // The event id plus the failure's position identify it across redeliveries.
          const id = `${event.id}:${k++}`;
          report.failures++;
          if (globalSet.has(failure.host) || jailSet.has(failure.host)) {
            report.allowlisted++;
            continue;
          }
          const key = `${jail.config.name}\u0000${failure.host}`;
          let p = pending.get(key);
          if (!p) {
            p = { jail, address: failure.host, failures: [], matches: [] };
            pending.set(key, p);
          }
          p.failures.push({ id, time: failure.time ?? timestamp });
          if (p.matches.length < MAX_MATCHES) p.matches.push(failure.line);
          failedPerJail.set(jail.config.name, (failedPerJail.get(jail.config.name) ?? 0) + 1);
        }
      }
    }
  }
  report.pairs = pending.size;

  const bannedPerJail = new Map<string, number>();
  await mapLimit([...pending.values()], deps.concurrency ?? 16, async (p) => {
    const cfg = p.jail.config;
    const latest = Math.max(now, ...p.failures.map((f) => f.time));
    const stored = await deps.store.recordFailures(
      cfg.name,
      p.address,
      p.failures,
      latest + cfg.findtime + 3_600_000,
    );
    let decision = evaluateWindow(stored, cfg.maxretry, cfg.findtime);
    if (!decision.ban) {
      await prune(deps.store, cfg, p.address, stored, now);
      return;
    }
    const cidr = hostCidr(p.address)?.text;
    if (!cidr) return;
    // Up to two attempts: a 'conflict' means another writer changed the record meanwhile.
    for (let attempt = 0; attempt < 2; attempt++) {
      const history = await deps.store.bansOf(cidr);
      const previous = history.find((b) => b.jail === cfg.name);
      if (previous && isBanActive(previous, now)) {
        report.alreadyBanned += p.failures.length;
        return;
      }
      decision = evaluateWindow(stored, cfg.maxretry, cfg.findtime, previous?.lastFailureAt);
      if (!decision.ban) return;
      const previousBans = cfg.increment.overalljails
        ? history.reduce((n, b) => n + b.banCount, 0)
        : (previous?.banCount ?? 0);
      const duration = banDuration(cfg.bantime, previousBans, cfg.increment);
      const ban: Ban = {
        jail: cfg.name,
        cidr,
        createdAt: now,
        expiresAt: duration === PERMANENT ? null : now + duration,
        source: 'detector',
        failures: decision.count,
        banCount: (previous?.banCount ?? 0) + 1,
        reason: `${decision.count} failures in ${formatDuration(cfg.findtime)}`,
        matches: p.matches,
        logGroup: batch.logGroup,
        logStream: batch.logStream,
        lastFailureAt: decision.events[decision.events.length - 1]?.time ?? now,
      };
      const result = await deps.store.putBan(ban, now, previous);
      if (result === 'created') {
        report.bans.push(ban);
        bannedPerJail.set(cfg.name, (bannedPerJail.get(cfg.name) ?? 0) + 1);
        deps.logger?.info('ban created', {
          jail: cfg.name,
          address: p.address,
          failures: decision.count,
          banCount: ban.banCount,
          expiresAt: ban.expiresAt,
        });
        return;
      }
      if (result === 'already-banned') return;
    }
  });

  await Promise.all(
    [...failedPerJail].map(([jail, failed]) =>
      deps.store.addStats(jail, failed, bannedPerJail.get(jail) ?? 0),
    ),
  );
  if (report.bans.length > 0) {
    await deps.trigger.trigger(`${report.bans.length} new ban(s) from ${batch.logGroup}`);
  }
  return report;
}

/** Drops failures older than any window that can still matter, when the set grows large. */
async function prune(
  store: BanStore,
  cfg: JailConfig,
  address: string,
  stored: readonly FailureEvent[],
  now: number,
): Promise<void> {
  if (stored.length <= Math.max(4 * cfg.maxretry, 32)) return;
  const { drop } = pruneFailures(stored, now - 2 * cfg.findtime);
  if (drop.length > 0) await store.forgetFailures(cfg.name, address, drop);
}
