/**
 * The ban store port: failure windows, ban records (desired state), the runtime allowlist and
 * per-jail counters. Implemented by the DynamoDB store (production, dynalite in tests) and the
 * in-memory store; both pass the same contract suite (test/contract/ban-store.test.ts).
 */
import type { Ban } from '../core/ban.js';
import type { FailureEvent } from '../core/policy/failure-window.js';
import type { JailOverride } from '../core/policy/jail-overrides.js';

export type { JailOverride } from '../core/policy/jail-overrides.js';

/** Every ban record still stored, active or not (expired ones linger until TTL). */
export interface DesiredBanReader {
  listBans(): Promise<readonly Ban[]>;
}

/** The enforcer's sweep: swept bans keep their record, marked expired, with a TTL. */
export interface BanExpiryRecorder {
  markExpired(bans: readonly Ban[], now: number): Promise<void>;
}

/** One runtime allowlist entry; `jail` undefined = every jail. */
export interface IgnoreEntry {
  readonly cidr: string;
  readonly jail?: string;
}

export interface JailStats {
  readonly jail: string;
  readonly totalFailed: number;
  readonly totalBanned: number;
}

/** Outcome of a conditional ban write. */
export type PutBanResult = 'created' | 'already-banned' | 'conflict';

/** The key of one ban record: at most one record per (jail, CIDR), its history in `banCount`. */
export interface BanKey {
  readonly jail: string;
  readonly cidr: string;
}

/** What {@link BanStore.recordFailures} returns. */
export interface RecordedFailures {
  /** Every failure now stored for the (jail, address), one per event id. */
  readonly failures: readonly FailureEvent[];
  /** How many of the given failures were new (0 when the same batch is delivered again). */
  readonly added: number;
}

export interface BanStore extends DesiredBanReader, BanExpiryRecorder {
  /**
   * Adds failures to the (jail, address) window — idempotently: an event id already stored is not
   * added again — and returns every failure stored for it (one per id) and how many were new.
   * One store request. Concurrent calls for the same window never lose a failure.
   * @param expireAt epoch ms after which the window item may be garbage-collected (TTL).
   */
  recordFailures(
    jail: string,
    address: string,
    failures: readonly FailureEvent[],
    expireAt: number,
  ): Promise<RecordedFailures>;

  /** Removes failures no decision can need any more (outside the window). */
  forgetFailures(jail: string, address: string, failures: readonly FailureEvent[]): Promise<void>;

  /** Ban records of one CIDR in every jail (its history: expired records included). */
  bansOf(cidr: string): Promise<readonly Ban[]>;

  /**
   * The records of the given (jail, cidr) keys that exist, expired ones included, strongly
   * consistent. One store request per 100 keys: the detector reads the ban state of a whole batch
   * at once.
   */
  getBans(keys: readonly BanKey[]): Promise<readonly Ban[]>;

  /**
   * Writes a ban unless an active ban of the same (jail, cidr) exists — race-free: of N concurrent
   * writers exactly one gets 'created'. `previous` is the record the caller based its decision on
   * (optimistic concurrency: 'conflict' when it changed meanwhile).
   */
  putBan(ban: Ban, now: number, previous: Ban | undefined): Promise<PutBanResult>;

  /** Sets expiresAt = now on matching active bans (the enforcer then removes them); returns them. */
  releaseBans(
    filter: { cidr?: string; jail?: string; all?: boolean },
    now: number,
  ): Promise<readonly Ban[]>;

  addIgnore(entry: IgnoreEntry): Promise<void>;
  removeIgnore(entry: IgnoreEntry): Promise<boolean>;
  listIgnores(): Promise<readonly IgnoreEntry[]>;

  /** Writes a jail's runtime overrides (`cloudjail set`); one without settings deletes them. */
  putJailOverride(override: JailOverride): Promise<void>;
  /** Every jail's runtime overrides (the detector caches them like the runtime allowlist). */
  listJailOverrides(): Promise<readonly JailOverride[]>;

  /** Adds to a jail's counters (one request per jail per batch). */
  addStats(jail: string, failed: number, banned: number): Promise<void>;
  listStats(): Promise<readonly JailStats[]>;
}
