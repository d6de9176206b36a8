/**
 * fail2ban regex tags → regex text, and Python `re` syntax → JavaScript `RegExp`.
 *
 * Never uses the `u`/`v` flags (fail2ban's own filters contain `\'`, an invalid escape under `u`)
 * and never appends the `\n` fail2ban appends (Python's `$` matches before a final newline,
 * JavaScript's does not, so we search the text without it).
 */
import { FilterError, type FilterErrorLocation } from '../errors.js';
import { requiredLiterals } from './literals.js';

const IP4 = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
const IP6 = `(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)`;
const R_IP4 = `(?:::f{4,6}:)?(?P<ip4>${IP4})`;
const R_IP6 = `(?P<ip6>${IP6})`;
const R_DNS = String.raw`(?P<dns>[\w\-.^_]*\w)`;
const R_CIDR = String.raw`(?P<cidr>\d+)`;
const R_ADDR = String.raw`\[?(?:${R_IP4}|${R_IP6})\]?`;
const R_HOST = `(?:${R_ADDR}|${R_DNS})`;
const R_SUBNET = String.raw`\[?(?:${R_IP4}|${R_IP6})(?:/${R_CIDR})?\]?`;

const STATIC_TAGS: Readonly<Record<string, string>> = {
  IP4: R_IP4,
  'F-IP4/': R_IP4,
  IP6: R_IP6,
  'F-IP6/': R_IP6,
  ADDR: R_ADDR,
  'F-ADDR/': R_ADDR,
  CIDR: R_CIDR,
  'F-CIDR/': R_CIDR,
  SUBNET: R_SUBNET,
  'F-SUBNET/': R_SUBNET,
  DNS: R_DNS,
  'F-DNS/': R_DNS,
  'F-ID/': String.raw`(?P<fid>\S+)`,
  'F-PORT/': String.raw`(?P<fport>\w+)`,
};

const GROUP_ALIASES: Readonly<Record<string, string>> = { id: 'fid', port: 'fport' };

/**
 * Expands fail2ban's regex tags (`<HOST>`, `<ADDR>`, `<F-USER>…</F-USER>`, `<SKIPLINES>`, ...).
 * `<HOST>` keeps a DNS alternative unless `usedns = no`: a hostname is then *reported* (never
 * resolved, never banned) instead of silently missed.
 */
export function expandRegexTags(regex: string, useDns: string | undefined): string {
  const open = new Set<string>();
  let skip = 0;
  return regex.replace(/<\/?[\w-]+\/?>/g, (tag) => {
    const name = tag.slice(1, -1);
    if (name === 'HOST') return useDns === 'no' ? R_ADDR : R_HOST;
    if (name === 'SKIPLINES') return String.raw`\n(?P<skiplines${skip++}>(?:(?:.*\n)*?))`;
    const fixed = STATIC_TAGS[name];
    if (fixed) return fixed;
    const custom = /^(\/?)F-([A-Z0-9_-]+)$/.exec(name);
    if (!custom) return tag;
    const id = custom[2] ?? '';
    if (custom[1]) return open.has(id) ? ')' : tag;
    open.add(id);
    const lower = id.toLowerCase();
    return `(?P<${GROUP_ALIASES[lower] ?? lower}>`;
  });
}

/** A compiled regex with the Python group names it captures. */
export interface CompiledRegex {
  readonly source: string;
  readonly regex: RegExp;
  /**
   * Python conditional groups `(?(g)yes|no)` have no JavaScript equivalent: such a pattern is
   * compiled once per assumption about which referenced groups took part, and a variant's match
   * counts only when the assumption holds. Tried in order; see {@link execRegex}.
   */
  /** At least one of these occurs in every match (a cheap pre-check); see literals.ts. */
  readonly literals?: readonly string[];
  /**
   * False when the pre-check costs more than it saves: the regex starts with `^` and a literal
   * character, so it fails at the first character that differs.
   */
  readonly precheck?: boolean;
  readonly variants?: readonly { regex: RegExp; require: Readonly<Record<string, boolean>> }[];
  /** JavaScript group name → Python (fail2ban) group name. */
  readonly groupNames: ReadonlyMap<string, string>;
  /** Python names of all named groups. */
  readonly groups: ReadonlySet<string>;
}

/**
 * Translates a Python `re` pattern to a JavaScript RegExp.
 * @throws FilterError (with `where`) for constructs JavaScript cannot express.
 */
export function compilePythonRegex(
  pattern: string,
  where: FilterErrorLocation,
  options: { multiline?: boolean } = {},
): CompiledRegex {
  const compiled = compileWithVariants(pattern, where, options);
  const literals = requiredLiterals(pattern);
  if (!literals) return compiled;
  const anchoredOnLiteral =
    compiled.variants === undefined && /^\^[A-Za-z0-9 ]/.test(compiled.regex.source);
  return { ...compiled, literals, precheck: !anchoredOnLiteral };
}

function compileWithVariants(
  pattern: string,
  where: FilterErrorLocation,
  options: { multiline?: boolean },
): CompiledRegex {
  const conditionals = conditionalGroupNames(pattern);
  if (conditionals.length > 0) {
    if (conditionals.length > 4) {
      throw new FilterError(
        `more than 4 distinct conditional groups are not supported in regex ${JSON.stringify(pattern)}`,
        where,
      );
    }
    const variants: { regex: RegExp; require: Record<string, boolean> }[] = [];
    let first: CompiledRegex | undefined;
    for (let mask = 0; mask < 1 << conditionals.length; mask++) {
      const assume: Record<string, boolean> = {};
      conditionals.forEach((g, i) => {
        assume[g] = (mask & (1 << i)) === 0;
      });
      const compiled = compileFlat(resolveConditionals(pattern, assume, where), where, options);
      first ??= compiled;
      const require: Record<string, boolean> = {};
      for (const [g, v] of Object.entries(assume)) {
        for (const [js, py] of compiled.groupNames) if (py === g) require[js] = v;
      }
      variants.push({ regex: compiled.regex, require });
    }
    return { ...(first as CompiledRegex), source: pattern, variants };
  }
  return compileFlat(pattern, where, options);
}

/** Runs a compiled regex (all its conditional variants) on `text`, from index 0. */
export function execRegex(
  compiled: CompiledRegex,
  text: string,
  literalsChecked = false,
): RegExpExecArray | null {
  if (!literalsChecked && !mayMatch(compiled, text)) return null;
  if (!compiled.variants) {
    compiled.regex.lastIndex = 0;
    return compiled.regex.exec(text);
  }
  for (const v of compiled.variants) {
    v.regex.lastIndex = 0;
    const m = v.regex.exec(text);
    if (!m) continue;
    const ok = Object.entries(v.require).every(
      ([js, took]) => (m.groups?.[js] !== undefined) === took,
    );
    if (ok) return m;
  }
  return null;
}

/**
 * The literal pre-check of {@link execRegex}: false when `text` holds none of the regex's required
 * literals (so it cannot match).
 */
export function mayMatch(compiled: CompiledRegex, text: string): boolean {
  const literals = compiled.literals;
  if (literals === undefined || compiled.precheck === false) return true;
  for (let i = 0; i < literals.length; i++) {
    if (text.includes(literals[i] as string)) return true;
  }
  return false;
}

/**
 * A regex without conditional variants as a twin with plain numbered groups (no `groups` object
 * per match: cheaper on a hot path), with each named group's Python name and number. Undefined
 * for regexes with variants or a named backreference the twin cannot express.
 */
export function numberedTwin(
  compiled: CompiledRegex,
): { regex: RegExp; names: readonly string[]; numbers: readonly number[] } | undefined {
  if (compiled.variants) return undefined;
  const { regex, index } = toPositional(compiled.regex);
  if (regex.source.includes('\\k<')) return undefined;
  const names: string[] = [];
  const numbers: number[] = [];
  for (const [js, py] of compiled.groupNames) {
    const n = index.get(js);
    if (n === undefined) return undefined;
    names.push(py);
    numbers.push(n);
  }
  return { regex, names, numbers };
}

/** Names of groups referenced by `(?(name)...)` conditionals, in order of first use. */
function conditionalGroupNames(pattern: string): string[] {
  const names: string[] = [];
  const re = /(?<!\\)\(\?\(([^)]+)\)/g;
  for (let m = re.exec(pattern); m; m = re.exec(pattern)) {
    const name = m[1] ?? '';
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/**
 * The indexes, from `from` on, of the characters of a Python regex source that are syntax: not
 * escaped (`\x` is skipped whole) and not inside a character class (`[...]`, where a `]` right
 * after `[` or `[^` is a member).
 */
export function* syntaxIndexes(pattern: string, from = 0): Generator<number> {
  let inClass = false;
  for (let i = from; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    yield i;
  }
}

/** Index of the ')' closing the group opened at `open`, and top-level '|' positions inside. */
function groupExtent(pattern: string, open: number): { close: number; bars: number[] } {
  let depth = 0;
  const bars: number[] = [];
  for (const i of syntaxIndexes(pattern, open)) {
    const c = pattern[i];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return { close: i, bars };
    } else if (c === '|' && depth === 1) bars.push(i);
  }
  return { close: -1, bars };
}

/**
 * Rewrites conditionals for one assumption: `(?(g)yes|no)` becomes `(?:yes)` or `(?:no)`; a group
 * assumed absent never matches (`(?!)`), one assumed present loses a trailing `?`.
 */
function resolveConditionals(
  pattern: string,
  assume: Readonly<Record<string, boolean>>,
  where: FilterErrorLocation,
): string {
  let out = pattern;
  for (;;) {
    const m = /(?<!\\)\(\?\(([^)]+)\)/.exec(out);
    if (!m) break;
    const open = m.index;
    const { close } = groupExtent(out, open);
    if (close < 0)
      throw new FilterError(`unbalanced conditional group in ${JSON.stringify(pattern)}`, where);
    const bodyStart = open + m[0].length;
    const inner = `(${out.slice(bodyStart, close)})`;
    const { bars } = groupExtent(inner, 0);
    const bar = bars[0];
    const yes = bar === undefined ? inner.slice(1, -1) : inner.slice(1, bar);
    const no = bar === undefined ? '' : inner.slice(bar + 1, -1);
    const took = assume[m[1] ?? ''] ?? false;
    out = `${out.slice(0, open)}(?:${took ? yes : no})${out.slice(close + 1)}`;
  }
  for (const [g, took] of Object.entries(assume)) {
    const open = out.indexOf(`(?P<${g}>`);
    if (open < 0) continue;
    const { close } = groupExtent(out, open);
    if (close < 0) continue;
    if (!took) {
      out = `${out.slice(0, open)}(?P<${g}>(?!)${out.slice(open + g.length + 5)}`;
    } else if (out[close + 1] === '?' && out[close + 2] !== '?') {
      out = out.slice(0, close + 1) + out.slice(close + 2);
    }
  }
  return out;
}

function compileFlat(
  pattern: string,
  where: FilterErrorLocation,
  options: { multiline?: boolean },
): CompiledRegex {
  const fail = (msg: string): never => {
    throw new FilterError(`${msg} in regex ${JSON.stringify(pattern)}`, where);
  };
  let flags = options.multiline ? 'm' : '';
  const names = new Map<string, string>();
  const pyToJs = new Map<string, string>();
  const jsName = (py: string) => {
    let js = pyToJs.get(py);
    if (js) return js;
    js = /^[A-Za-z_$][\w$]*$/.test(py) ? py : `g_${py.replace(/\W/g, '_')}_${pyToJs.size}`;
    if (names.has(js)) fail(`duplicate group name '${py}'`);
    pyToJs.set(py, js);
    names.set(js, py);
    return js;
  };
  // Local case-insensitive groups `(?i:...)`: JavaScript on Node 20 lacks modifiers, so letters
  // inside are expanded to both cases.
  const ciStack: boolean[] = [];
  let ciDepth = 0;
  let out = '';
  let i = 0;
  // fail2ban turns `((?i)x)` and `(?:(?i)x)` into local flags; a global flag anywhere else applies
  // to the whole pattern (Python semantics).
  const src = pattern.replace(/(?<!\\)\((?:\?:)?(\(\?[a-zA-Z]+)\)/g, '$1:');
  const n = src.length;
  while (i < n) {
    const c = src[i] as string;
    if (c === '\\') {
      const d = src[i + 1];
      if (d === undefined) fail('trailing backslash');
      if (d === 'Z') {
        out += options.multiline ? '(?![\\s\\S])' : '$';
        i += 2;
        continue;
      }
      if (d === 'A') {
        out += options.multiline ? '(?<![\\s\\S])' : '^';
        i += 2;
        continue;
      }
      if (d === 'N' || d === 'U') fail(`unsupported escape \\${d}`);
      out += `\\${d}`;
      i += 2;
      continue;
    }
    if (c === '[') {
      // Character class: Python allows ']' right after '[' or '[^' as a literal.
      let j = i + 1;
      let cls = '[';
      if (src[j] === '^') {
        cls += '^';
        j++;
      }
      if (src[j] === ']') {
        cls += '\\]';
        j++;
      }
      while (j < n && src[j] !== ']') {
        if (src[j] === '\\') {
          const e = src[j + 1] ?? '';
          if (e === 'Z' || e === 'A') fail(`\\${e} inside a character class`);
          cls += `\\${e}`;
          j += 2;
          continue;
        }
        if (src[j] === '[') cls += '\\[';
        else {
          const ch = src[j] as string;
          cls += ciDepth > 0 && /[a-zA-Z]/.test(ch) ? ch.toLowerCase() + ch.toUpperCase() : ch;
        }
        j++;
      }
      if (j >= n) fail('unterminated character class');
      out += `${cls}]`;
      i = j + 1;
      continue;
    }
    if (c === '(') {
      if (src[i + 1] === '?') {
        const rest = src.slice(i + 2);
        let m: RegExpExecArray | null;
        m = /^P<([^>]+)>/.exec(rest);
        if (m) {
          out += `(?<${jsName(m[1] ?? '')}>`;
          ciStack.push(false);
          i += 2 + m[0].length;
          continue;
        }
        m = /^P=([^)]+)\)/.exec(rest);
        if (m) {
          const js = pyToJs.get(m[1] ?? '');
          if (!js) fail(`backreference to unknown group '${m[1]}'`);
          out += `\\k<${js}>`;
          i += 2 + m[0].length;
          continue;
        }
        m = /^#[^)]*\)/.exec(rest);
        if (m) {
          i += 2 + m[0].length;
          continue;
        }
        m = /^([aiLmsux]+)\)/.exec(rest);
        if (m) {
          for (const f of m[1] ?? '') {
            if (f === 'i' && !flags.includes('i')) flags += 'i';
            else if (f === 's' && !flags.includes('s')) flags += 's';
            else if (f === 'm' && !flags.includes('m')) flags += 'm';
            else if (f === 'x') fail('verbose flag (?x) is not supported');
          }
          i += 2 + m[0].length;
          continue;
        }
        m = /^([aiLmsux]*)(?:-[imsx]+)?:/.exec(rest);
        if (m) {
          const local = m[1] ?? '';
          if (/[msx]/.test(local) || m[0].includes('-')) {
            fail(`local flags (?${m[0]} are not supported`);
          }
          const ci = local.includes('i');
          ciStack.push(ci);
          if (ci) ciDepth++;
          out += '(?:';
          i += 2 + m[0].length;
          continue;
        }
        if (rest.startsWith('(')) fail('conditional group (?(...)...) is not supported');
        if (rest.startsWith('>')) fail('atomic group (?>...) is not supported');
        if (/^(?:[:=!]|<=|<!)/.test(rest)) {
          const len = rest.startsWith('<') ? 3 : 2;
          out += src.slice(i, i + 1 + len);
          ciStack.push(false);
          i += 1 + len;
          continue;
        }
        fail(`unknown group syntax (?${rest.slice(0, 3)}`);
      }
      out += '(';
      ciStack.push(false);
      i++;
      continue;
    }
    if (c === ')') {
      if (ciStack.pop()) ciDepth--;
      out += ')';
      i++;
      continue;
    }
    if ((c === '+' || c === '*' || c === '?' || c === '}') && src[i + 1] === '+') {
      fail('possessive quantifier is not supported');
    }
    if (c === '{' && /^\{,\d+\}/.test(src.slice(i))) {
      out += '{0,';
      i += 2;
      continue;
    }
    out += ciDepth > 0 && /[a-zA-Z]/.test(c) ? bothCases(c) : c;
    i++;
  }
  let regex: RegExp;
  try {
    regex = new RegExp(out, flags);
  } catch (e) {
    return fail(
      `invalid regex (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`,
    );
  }
  return { source: pattern, regex, groupNames: names, groups: new Set(names.values()) };
}

function bothCases(ch: string): string {
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  return lo === up ? ch : `[${lo}${up}]`;
}

/** The named groups of a match, by Python name; unmatched groups are absent. */
export function namedGroups(compiled: CompiledRegex, m: RegExpExecArray): Record<string, string> {
  const out: Record<string, string> = {};
  const g = m.groups;
  if (!g) return out;
  for (const [js, py] of compiled.groupNames) {
    const v = g[js];
    if (v !== undefined) out[py] = v;
  }
  return out;
}

/**
 * The same JavaScript regex with named groups turned into plain numbered groups, and the number
 * of each name. Matching without named groups skips building a `groups` object per match: this
 * is for the per-line hot path (date templates).
 */
export function toPositional(regex: RegExp): { regex: RegExp; index: ReadonlyMap<string, number> } {
  const src = regex.source;
  const index = new Map<string, number>();
  let out = '';
  let count = 0;
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (c === '\\') {
      const named = /^\\k<([^>]+)>/.exec(src.slice(i));
      if (named && !inClass) {
        const n = index.get(named[1] ?? '');
        out += n === undefined ? named[0] : `(?:\\${n})`;
        i += named[0].length - 1;
        continue;
      }
      out += src.slice(i, i + 2);
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      continue;
    }
    if (c === '(') {
      const rest = src.slice(i + 1);
      const named = /^\?<([A-Za-z_$][\w$]*)>/.exec(rest);
      if (named) {
        count++;
        index.set(named[1] ?? '', count);
        out += '(';
        i += named[0].length;
        continue;
      }
      if (!rest.startsWith('?')) count++;
    }
    out += c;
  }
  return { regex: new RegExp(out, regex.flags), index };
}

/**
 * The same numbered-group JavaScript regex with only the groups in `keep` left capturing (and any
 * group a backreference needs); the others become non-capturing. Captures do not take part in
 * matching (backreferences aside), so both regexes match exactly the same text; the lean one just
 * builds a shorter match array. Returns undefined for sources it does not handle (named groups).
 */
export function keepGroups(
  regex: RegExp,
  keep: ReadonlySet<number>,
): { regex: RegExp; index: ReadonlyMap<number, number> } | undefined {
  const src = regex.source;
  const scan = (visit: (kind: 'open' | 'backref' | 'text', text: string, n: number) => void) => {
    let inClass = false;
    let group = 0;
    for (let i = 0; i < src.length; i++) {
      const c = src[i] as string;
      if (c === '\\') {
        const digits = inClass ? null : /^[1-9]\d*/.exec(src.slice(i + 1));
        if (digits) {
          visit('backref', digits[0], Number(digits[0]));
          i += digits[0].length;
        } else {
          visit('text', src.slice(i, i + 2), 0);
          i++;
        }
        continue;
      }
      if (inClass) {
        if (c === ']') inClass = false;
      } else if (c === '[') inClass = true;
      else if (c === '(' && src[i + 1] !== '?') {
        visit('open', c, ++group);
        continue;
      } else if (c === '(' && src[i + 2] === '<' && src[i + 3] !== '=' && src[i + 3] !== '!') {
        throw new Error('named group');
      }
      visit('text', c, 0);
    }
    return group;
  };
  const wanted = new Set(keep);
  let total: number;
  const refs: number[] = [];
  try {
    total = scan((kind, _t, n) => {
      if (kind === 'backref') refs.push(n);
    });
  } catch {
    return undefined;
  }
  for (const n of refs) if (n <= total) wanted.add(n);
  const index = new Map<number, number>();
  for (let n = 1; n <= total; n++) if (wanted.has(n)) index.set(n, index.size + 1);
  let out = '';
  scan((kind, text, n) => {
    if (kind === 'open') out += index.has(n) ? '(' : '(?:';
    else if (kind === 'backref') {
      // A number beyond the group count is a legacy octal escape, not a backreference.
      out += n <= total ? `\\${index.get(n) ?? n}` : `\\${text}`;
    } else out += text;
  });
  return { regex: new RegExp(out, regex.flags), index };
}
