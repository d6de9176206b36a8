/**
 * The publish-ban-list use case: the host tier's half of an enforcement run (architecture
 * invariant 11). From the admitted bans (the same screened set the NACL tier planned from) it
 * builds the complete ban list (core/ban-list) and publishes it through the publisher port when
 * its content changed.
 *
 * - Unchanged content is not written again: the published object's metadata (one HeadObject)
 *   carries the content hash; equal hash = nothing to do. (No separate record to keep in step: the
 *   object itself says what is published, and a lost object is simply published again.)
 * - The serial only grows: `max(now, previous + 1)` (core nextSerial), the previous being the
 *   published one or the last this container wrote, so even after the object is lost the next
 *   serial is newer than anything an agent applied (across containers: the clock in ms).
 * - A failure (read or write) is reported (`error`), logged, and counted as bans not published;
 *   it never undoes the NACL work, and the next run retries (the hash still differs).
 */
import { type Ban, isBanActive } from '../core/ban.js';
import {
  type BanListJail,
  banListDocument,
  banListJson,
  buildBanList,
  nextSerial,
  type RuntimeIgnore,
} from '../core/ban-list/build-ban-list.js';
import { banKey } from '../core/enforcement/desired-bans.js';
import type { BanListPublisher, PublishedBanList } from '../ports/ban-list-publisher.js';

export interface PublicationReport {
  /** Serial of the list published now (after this run); null when none is. */
  readonly serial: number | null;
  /** Ban records the list of this run covers. */
  readonly bans: number;
  /** Stored (compressed) size of the published object. */
  readonly bytes: number;
  /** True when this run wrote a new list. */
  readonly changed: boolean;
  /** Admitted active bans missing from the last successful publication (0 when it succeeded). */
  readonly notPublished: number;
  /** Bans refused at publication because they overlap the allowlist (defence in depth). */
  readonly refused: number;
  /** Why publication failed (the next run retries). */
  readonly error?: string;
}

/**
 * What one container remembers of its last successful publication: the ban keys in it, so a
 * failed run can say which admitted bans the hosts do not have. A fresh container knows nothing
 * and then counts every admitted ban as not published (it cannot prove otherwise).
 */
export class PublicationMemory {
  keys: ReadonlySet<string> | undefined;
  /** The last serial this container published (its next one is higher, object lost or not). */
  serial: number | undefined;
}

export interface PublishBanListDeps {
  readonly publisher: BanListPublisher;
  readonly jails: readonly BanListJail[];
  readonly ignoreip: readonly string[];
  /** The runtime allowlist (the store's listIgnores), read at each publication. */
  readonly runtimeIgnores: () => Promise<readonly RuntimeIgnore[]>;
  readonly memory?: PublicationMemory;
  readonly logger?: {
    info(message: string, extra?: Record<string, unknown>): void;
    warn(message: string, extra?: Record<string, unknown>): void;
  };
}

function message(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Builds and (when changed) publishes the list of `bans` (admitted, screened) at `now`. */
export async function publishBanList(
  bans: readonly Ban[],
  now: number,
  deps: PublishBanListDeps,
): Promise<PublicationReport> {
  let current: PublishedBanList | undefined;
  let keys: ReadonlySet<string> = new Set(bans.filter((b) => isBanActive(b, now)).map(banKey));
  let refused = 0;
  try {
    const built = buildBanList({
      bans,
      jails: deps.jails,
      ignoreip: deps.ignoreip,
      runtimeIgnores: await deps.runtimeIgnores(),
      now,
    });
    refused = built.refused.length;
    if (refused > 0) {
      deps.logger?.warn('bans overlapping the allowlist left out of the published list', {
        count: refused,
        bans: built.refused.slice(0, 20).map((b) => ({ jail: b.jail, cidr: b.cidr })),
      });
    }
    keys = new Set(built.listedBans.map(banKey));
    current = await deps.publisher.current();
    if (current && current.contentHash === built.contentHash) {
      if (deps.memory) deps.memory.keys = keys;
      return {
        serial: current.serial,
        bans: keys.size,
        bytes: current.bytes,
        changed: false,
        notPublished: 0,
        refused,
      };
    }
    const previous = Math.max(current?.serial ?? 0, deps.memory?.serial ?? 0);
    const serial = nextSerial(previous || undefined, now);
    const list = banListDocument(built.content, serial, now);
    const { bytes } = await deps.publisher.publish({
      list,
      contentHash: built.contentHash,
      bans: keys.size,
      json: banListJson(built.contentJson, serial, now),
    });
    if (deps.memory) {
      deps.memory.keys = keys;
      deps.memory.serial = serial;
    }
    deps.logger?.info('ban list published', {
      serial,
      bans: keys.size,
      entries: built.entries,
      bytes,
    });
    return { serial, bans: keys.size, bytes, changed: true, notPublished: 0, refused };
  } catch (e) {
    const known = deps.memory?.keys;
    const notPublished = known ? [...keys].filter((k) => !known.has(k)).length : keys.size;
    deps.logger?.warn('ban list not published (the next run retries)', {
      error: message(e),
      notPublished,
    });
    return {
      serial: current?.serial ?? null,
      bans: keys.size,
      bytes: current?.bytes ?? 0,
      changed: false,
      notPublished,
      refused,
      error: message(e),
    };
  }
}
