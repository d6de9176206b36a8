/**
 * Durations in fail2ban's syntax (`fail2ban-client --str2sec`): `600` (seconds), `10m`, `1h`,
 * `3d`, `1w`, `1mo`, `1y`, combinations like `1d12h30m`, and `-1` (permanent). Pure.
 */

/** A permanent ban. */
export const PERMANENT = -1;

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  s: 1,
  sec: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hour: 3600,
  hours: 3600,
  d: 86_400,
  day: 86_400,
  days: 86_400,
  w: 604_800,
  week: 604_800,
  weeks: 604_800,
  mo: 2_629_800, // 1/12 of a Julian year, as fail2ban
  month: 2_629_800,
  months: 2_629_800,
  y: 31_557_600, // Julian year, as fail2ban
  year: 31_557_600,
  years: 31_557_600,
};

/**
 * Parses a duration. Returns milliseconds, {@link PERMANENT} for `-1`, or undefined when the text
 * is not a duration. A number alone is seconds.
 */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') {
    if (text === -1) return PERMANENT;
    return Number.isFinite(text) && text >= 0 ? Math.round(text * 1000) : undefined;
  }
  const value = text.trim().toLowerCase();
  if (value === '-1') return PERMANENT;
  if (/^\d+(?:\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const part = /(\d+(?:\.\d+)?)\s*([a-z]+)/gy;
  let total = 0;
  let matched = 0;
  let m = part.exec(value);
  while (m) {
    const unit = UNIT_SECONDS[m[2] ?? ''];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    matched = part.lastIndex;
    while (value[part.lastIndex] === ' ') part.lastIndex++;
    m = part.exec(value);
  }
  if (matched === 0 || value.slice(matched).trim() !== '') return undefined;
  return Math.round(total * 1000);
}

/** A duration for humans: `1h30m`, `permanent`. */
export function formatDuration(ms: number): string {
  if (ms === PERMANENT) return 'permanent';
  let rest = Math.round(ms / 1000);
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const [unit, secs] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / secs);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * secs;
  }
  return parts.join('');
}
