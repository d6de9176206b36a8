/**
 * fail2ban's strptime-style date codes (`%Y`, `%ExY`, `%b`, ...) as Python-syntax regex fragments,
 * and the conversion of the captured fields to an epoch, with fail2ban's year and day inference.
 */
import { syntaxIndexes } from '../regex.js';
import { parseFixedOffset, type WallClockToEpoch } from './zone.js';

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTHS_FULL = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DAYS_FULL = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const TZ_ABBR = '[A-Z](?:[A-Z]{2,4})?';

/** Code → regex fragment (Python syntax; named groups are the strptime field letters). */
export const TIME_CODES: Readonly<Record<string, string>> = {
  a: `(?P<a>${DAYS.join('|')})`,
  A: `(?P<A>${DAYS_FULL.join('|')})`,
  b: `(?P<b>${MONTHS.join('|')})`,
  B: `(?P<B>${MONTHS_FULL.join('|')})`,
  d: String.raw`(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])`,
  f: '(?P<f>[0-9]{1,6})',
  H: String.raw`(?P<H>[0-1]?\d|2[0-3])`,
  I: '(?P<I>1[0-2]|0[1-9]|[1-9])',
  j: String.raw`(?P<j>36[0-6]|3[0-5]\d|[12]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])`,
  k: String.raw` ?(?P<H>[0-2]?\d)`,
  l: String.raw` ?(?P<I>1?\d)`,
  m: '(?P<m>0?[1-9]|1[0-2])',
  M: String.raw`(?P<M>[0-5]?\d)`,
  p: '(?P<p>am|pm)',
  S: String.raw`(?P<S>[0-5]?\d|6[0-1])`,
  U: String.raw`(?P<U>5[0-3]|[0-4]\d|\d)`,
  w: '(?P<w>[0-6])',
  W: String.raw`(?P<W>5[0-3]|[0-4]\d|\d)`,
  y: String.raw`(?P<y>\d\d)`,
  Y: String.raw`(?P<Y>\d\d\d\d)`,
  z: String.raw`(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)`,
  Z: '(?P<Z>Z|[A-Z]{3,5})',
  // fail2ban's "exact" variants.
  ExY: String.raw`(?P<Y>20[0-4]\d)`,
  Exy: String.raw`(?P<y>\d{2})`,
  Exm: '(?P<m>0[1-9]|1[0-2])',
  Exd: String.raw`(?P<d>[1-2]\d|0[1-9]|3[0-1])`,
  ExH: String.raw`(?P<H>[0-1]\d|2[0-3])`,
  Exk: String.raw` ?(?P<H>[0-1]?\d|2[0-3])`,
  Exl: String.raw` ?(?P<I>1[0-2]|\d)`,
  ExM: String.raw`(?P<M>[0-5]\d)`,
  ExS: String.raw`(?P<S>[0-5]\d|6[0-1])`,
  ExZ: `(?P<Z>${TZ_ABBR})`,
  Exz: String.raw`(?P<z>(?:${TZ_ABBR})?[+-][01]\d(?::?\d{2})?|${TZ_ABBR})`,
};

const NAMES: Readonly<Record<string, string>> = {
  a: 'DAY',
  A: 'DAYNAME',
  b: 'MON',
  B: 'MONTH',
  d: 'Day',
  H: '24hour',
  I: '12hour',
  j: 'Yearday',
  m: 'Month',
  M: 'Minute',
  p: 'AMPM',
  S: 'Second',
  U: 'Yearweek',
  w: 'Weekday',
  W: 'Yearweek',
  y: 'Year2',
  Y: 'Year',
  z: 'Zone offset',
  f: 'Microseconds',
  Z: 'Zone name',
};

const CODE_RE = /%(%|Ex[A-Za-z]|[A-Za-z])/g;

/** Replaces `%X` codes; returns the regex and a display name. Unknown code → error text. */
export function expandCodes(pattern: string): {
  regex: string;
  name: string;
  alpha: boolean;
  unknown?: string;
} {
  let unknown: string | undefined;
  let alpha = false;
  const regex = pattern.replace(CODE_RE, (all, code: string) => {
    if (code === '%') return '%';
    const r = TIME_CODES[code];
    if (r === undefined) {
      unknown ??= all;
      return all;
    }
    if (/^[aAbBp]$/.test(code)) alpha = true;
    return r;
  });
  const name = pattern.replace(CODE_RE, (all, code: string) => {
    if (code === '%') return '%';
    if (code.startsWith('Ex')) {
      const n = NAMES[code.slice(2)];
      return n ? `Ex${n}` : all;
    }
    return NAMES[code] ?? all;
  });
  return { regex, name, alpha, ...(unknown ? { unknown } : {}) };
}

const DAY_MS = 86_400_000;

/**
 * Zone abbreviations → fixed offsets in minutes (fail2ban treats them as fixed: CET never
 * becomes CEST on its own). Facts from fail2ban's table of military and common abbreviations.
 */
const ZONE_ABBREVIATIONS: Readonly<Record<string, number>> = {
  Y: -720,
  X: -660,
  NUT: -660,
  SST: -660,
  W: -600,
  CKT: -600,
  HAST: -600,
  HST: -600,
  TAHT: -600,
  TKT: -600,
  V: -540,
  AKST: -540,
  GAMT: -540,
  GIT: -540,
  HADT: -540,
  HNY: -540,
  U: -480,
  AKDT: -480,
  CIST: -480,
  HAY: -480,
  HNP: -480,
  PST: -480,
  PT: -480,
  T: -420,
  HAP: -420,
  HNR: -420,
  MST: -420,
  PDT: -420,
  S: -360,
  CST: -360,
  EAST: -360,
  GALT: -360,
  HAR: -360,
  HNC: -360,
  MDT: -360,
  R: -300,
  CDT: -300,
  COT: -300,
  EASST: -300,
  ECT: -300,
  EST: -300,
  ET: -300,
  HAC: -300,
  HNE: -300,
  PET: -300,
  Q: -240,
  AST: -240,
  BOT: -240,
  CLT: -240,
  COST: -240,
  EDT: -240,
  FKT: -240,
  GYT: -240,
  HAE: -240,
  HNA: -240,
  PYT: -240,
  P: -180,
  ADT: -180,
  ART: -180,
  BRT: -180,
  CLST: -180,
  FKST: -180,
  GFT: -180,
  HAA: -180,
  PMST: -180,
  PYST: -180,
  SRT: -180,
  UYT: -180,
  WGT: -180,
  O: -120,
  BRST: -120,
  FNT: -120,
  PMDT: -120,
  UYST: -120,
  WGST: -120,
  N: -60,
  AZOT: -60,
  CVT: -60,
  EGT: -60,
  Z: 0,
  EGST: 0,
  GMT: 0,
  UTC: 0,
  WET: 0,
  WT: 0,
  A: 60,
  CET: 60,
  DFT: 60,
  WAT: 60,
  WEDT: 60,
  WEST: 60,
  B: 120,
  CAT: 120,
  CEDT: 120,
  CEST: 120,
  EET: 120,
  SAST: 120,
  WAST: 120,
  C: 180,
  EAT: 180,
  EEDT: 180,
  EEST: 180,
  IDT: 180,
  MSK: 180,
  D: 240,
  AMT: 240,
  AZT: 240,
  GET: 240,
  GST: 240,
  KUYT: 240,
  MSD: 240,
  MUT: 240,
  RET: 240,
  SAMT: 240,
  SCT: 240,
  E: 300,
  AMST: 300,
  AQTT: 300,
  AZST: 300,
  HMT: 300,
  MAWT: 300,
  MVT: 300,
  PKT: 300,
  TFT: 300,
  TJT: 300,
  TMT: 300,
  UZT: 300,
  YEKT: 300,
  F: 360,
  ALMT: 360,
  BIOT: 360,
  BTT: 360,
  IOT: 360,
  KGT: 360,
  NOVT: 360,
  OMST: 360,
  YEKST: 360,
  G: 420,
  CXT: 420,
  DAVT: 420,
  HOVT: 420,
  ICT: 420,
  KRAT: 420,
  NOVST: 420,
  OMSST: 420,
  THA: 420,
  WIB: 420,
  H: 480,
  ACT: 480,
  AWST: 480,
  BDT: 480,
  BNT: 480,
  CAST: 480,
  HKT: 480,
  IRKT: 480,
  KRAST: 480,
  MYT: 480,
  PHT: 480,
  SGT: 480,
  ULAT: 480,
  WITA: 480,
  WST: 480,
  I: 540,
  AWDT: 540,
  IRKST: 540,
  JST: 540,
  KST: 540,
  PWT: 540,
  TLT: 540,
  WDT: 540,
  WIT: 540,
  YAKT: 540,
  K: 600,
  AEST: 600,
  ChST: 600,
  PGT: 600,
  VLAT: 600,
  YAKST: 600,
  YAPT: 600,
  L: 660,
  AEDT: 660,
  LHDT: 660,
  MAGT: 660,
  NCT: 660,
  PONT: 660,
  SBT: 660,
  VLAST: 660,
  VUT: 660,
  M: 720,
  ANAST: 720,
  ANAT: 720,
  FJT: 720,
  GILT: 720,
  MAGST: 720,
  MHT: 720,
  NZST: 720,
  PETST: 720,
  PETT: 720,
  TVT: 720,
  WFT: 720,
  FJST: 780,
  NZDT: 780,
  NFT: 690,
  ACDT: 630,
  LHST: 630,
  ACST: 570,
  CCT: 390,
  MMT: 390,
  NPT: 345,
  SLT: 330,
  AFT: 270,
  IRDT: 270,
  IRST: 210,
  HAT: -150,
  NDT: -150,
  HNT: -210,
  NST: -210,
  NT: -210,
  HLV: -270,
  VET: -270,
  MART: -570,
  MIT: -570,
};

/** Offset in minutes of `ABBR`, `ABBR+hh[:mm]` or `+hh[:mm]`; undefined when unknown. */
function zoneOffset(text: string): number | undefined {
  const m = /^([A-Z]*)([+-]\d\d(?::?\d\d)?)?$/.exec(text);
  if (!m) return undefined;
  const base = m[1] ? ZONE_ABBREVIATIONS[m[1]] : 0;
  if (base === undefined) return undefined;
  if (!m[2]) return base;
  const extra = parseFixedOffset(m[2]);
  return extra === undefined ? undefined : base + extra;
}

/**
 * Epoch ms from captured fields, as fail2ban's reGroupDictStrptime: no year → the year of `now`,
 * minus one if that lands more than a day in the future; no date at all → today, or yesterday if
 * in the future; an explicit zone wins over `toEpoch` (the configured zone).
 */
export function fieldsToEpoch(
  g: Readonly<Record<string, string | undefined>>,
  now: number,
  toEpoch: WallClockToEpoch,
  nowYearMonthDay: (now: number) => [number, number, number],
): number | undefined {
  let year: number | undefined;
  let month: number | undefined;
  let day: number | undefined;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let tzOffset: number | undefined;
  let julian: number | undefined;
  if (g.y !== undefined) {
    year = Number(g.y);
    if (year <= 2000) year += 2000;
  }
  if (g.Y !== undefined) year = Number(g.Y);
  if (g.m !== undefined) month = Number(g.m);
  if (g.B !== undefined) month = MONTHS_FULL.indexOf(g.B.toLowerCase()) + 1;
  if (g.b !== undefined) month = MONTHS.indexOf(g.b.toLowerCase()) + 1;
  if (g.d !== undefined) day = Number(g.d);
  if (g.H !== undefined) hour = Number(g.H);
  if (g.I !== undefined) {
    hour = Number(g.I);
    const ampm = (g.p ?? '').toLowerCase();
    if (ampm === '' || ampm === 'am') {
      if (hour === 12) hour = 0;
    } else if (hour !== 12) hour += 12;
  }
  if (g.M !== undefined) minute = Number(g.M);
  if (g.S !== undefined) second = Number(g.S);
  if (g.f !== undefined) ms = Math.floor(Number(g.f.padEnd(6, '0')) / 1000);
  if (g.j !== undefined) julian = Number(g.j);
  const zone = g.z ?? g.Z;
  if (zone !== undefined) {
    if (zone === 'Z' || zone === 'UTC' || zone === 'GMT') tzOffset = 0;
    else tzOffset = zoneOffset(zone) ?? 0;
  }
  const [nowY, nowM, nowD] = nowYearMonthDay(now);
  let assumeYear = false;
  if (year === undefined) {
    year = nowY;
    assumeYear = true;
  }
  if ((month === undefined || day === undefined) && julian !== undefined) {
    const d = new Date(Date.UTC(year, 0, julian));
    month = d.getUTCMonth() + 1;
    day = d.getUTCDate();
  }
  let assumeToday = false;
  if (month === undefined && day === undefined) {
    month = nowM;
    day = nowD;
    assumeToday = true;
  }
  if (month === undefined || day === undefined || month < 1 || month > 12) return undefined;
  if (hour > 23 || minute > 59 || second > 61) return undefined;
  const convert = (y: number) => {
    const wall = Date.UTC(y, (month as number) - 1, day, hour, minute, second, ms);
    return tzOffset !== undefined ? wall - tzOffset * 60_000 : toEpoch(wall);
  };
  let t = convert(year);
  if (assumeToday && t > now) t -= DAY_MS;
  if (assumeYear && t > now + DAY_MS) t = convert(year - 1);
  return Number.isFinite(t) ? t : undefined;
}

/** Codes whose field, present alone, makes no date: a month needs a day and vice versa. */
const MONTH_CODES = new Set(['m', 'b', 'B', 'Exm']);
const DAY_CODES = new Set(['d', 'Exd']);
/** Codes whose regex admits values fieldsToEpoch rejects (`%k` 24-29, `%l` with pm). */
const UNCHECKED_CODES = new Set(['k', 'l', 'j']);

/**
 * Whether every match of the template built from `pattern` (a datepattern line without its
 * `{^LN-BEG}`/`{UNB}` marker) converts to a time: fieldsToEpoch never rejects it. True only for
 * patterns made of codes whose regexes admit just valid values, with a month and a day either
 * both required or both absent (codes at the top level, no top-level alternation, no quantifier on
 * them), and no groups of the user's own but fail2ban's `_sep`. Conservative: false is always safe.
 */
export function alwaysConverts(pattern: string): boolean {
  let depth = 0;
  let month: 'none' | 'required' | 'optional' = 'none';
  let day: 'none' | 'required' | 'optional' = 'none';
  /** Characters of a code already read (its letters are no syntax of their own). */
  let skipTo = 0;
  for (const i of syntaxIndexes(pattern)) {
    if (i < skipTo) continue;
    const c = pattern[i] as string;
    if (c === '(') {
      const rest = pattern.slice(i, i + 12);
      if (rest.startsWith('(?P<') && !rest.startsWith('(?P<_sep>')) return false;
      if (rest.startsWith('(?P=') && !rest.startsWith('(?P=_sep)')) return false;
      if (!rest.startsWith('(?')) return false; // a plain group of the user's
      depth++;
    } else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return false;
    else if (c === '%') {
      const m = /^%(%|Ex[A-Za-z]|[A-Za-z])/.exec(pattern.slice(i));
      if (!m) continue;
      const code = m[1] as string;
      skipTo = i + m[0].length;
      if (code === '%') continue;
      if (UNCHECKED_CODES.has(code)) return false;
      const next = pattern[skipTo];
      const optional = depth > 0 || next === '?' || next === '*' || next === '{';
      if (MONTH_CODES.has(code)) {
        if (month !== 'none') return false;
        month = optional ? 'optional' : 'required';
      } else if (DAY_CODES.has(code)) {
        if (day !== 'none') return false;
        day = optional ? 'optional' : 'required';
      }
    }
  }
  if (month === 'optional' || day === 'optional') return false;
  return month === day;
}
