/**
 * Wall-clock → epoch conversion for zone-less log dates, in UTC, a fixed offset (`UTC+0200`,
 * `GMT-0100`, `-0400`) or an IANA zone (`Europe/Zurich`). IANA offsets come from `Intl` and are
 * cached per zone and hour: this runs for every log line.
 */
import { FilterError } from '../../errors.js';

/** Converts a wall-clock time (fields as in Date.UTC) to epoch ms. */
export type WallClockToEpoch = (wallAsUtcMs: number) => number;

const FIXED = /^(?:UTC|GMT|Z)?(?:([+-])(\d{2}):?(\d{2})?)?$/i;

/** Offset in minutes east of UTC for a fixed zone text like `+0200`, `CET`-less forms only. */
export function parseFixedOffset(text: string): number | undefined {
  const m = FIXED.exec(text.trim());
  if (!m) return undefined;
  if (!m[1]) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? '0');
  return m[1] === '-' ? -minutes : minutes;
}

/** Builds the converter for a zone; throws FilterError for an unknown zone. */
export function zoneConverter(timeZone: string | undefined): WallClockToEpoch {
  const zone = timeZone?.trim() || 'UTC';
  const fixed = parseFixedOffset(zone);
  if (fixed !== undefined) return (wall) => wall - fixed * 60_000;
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new FilterError(
      `unknown time zone '${zone}' (use an IANA name like Europe/Zurich, or UTC+0200)`,
    );
  }
  const cache = new Map<number, number>();
  /** Offset (ms) of the zone at a UTC instant, cached per hour. */
  const offsetAt = (utc: number): number => {
    const bucket = Math.floor(utc / 3_600_000);
    let off = cache.get(bucket);
    if (off === undefined) {
      const at = bucket * 3_600_000;
      const parts: Record<string, number> = {};
      for (const p of format.formatToParts(new Date(at))) {
        if (p.type !== 'literal') parts[p.type] = Number(p.value);
      }
      const asUtc = Date.UTC(
        parts.year ?? 1970,
        (parts.month ?? 1) - 1,
        parts.day ?? 1,
        parts.hour ?? 0,
        parts.minute ?? 0,
        parts.second ?? 0,
      );
      off = asUtc - at;
      if (cache.size > 10_000) cache.clear();
      cache.set(bucket, off);
    }
    return off;
  };
  return (wall) => {
    const first = wall - offsetAt(wall);
    const second = wall - offsetAt(first);
    return second;
  };
}
