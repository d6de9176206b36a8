/**
 * Bounding the cost of a regex on hostile text.
 *
 * JavaScript regexes backtrack: `^(?:\w+\s?)+ from <HOST>$` takes tens of seconds on a 36-character
 * line, exponentially more on longer ones. The processes that match (detector Lambda, CLI) turn on
 * V8's linear-time fallback (`lambda/adapters/regexp-fallback.ts`): a regex that backtracks too much
 * is re-run by V8's linear-time engine. That engine cannot run every regex: not lookarounds,
 * backreferences or case-insensitive (`i`) regexes. Such a regex is accepted only when it has no
 * repetition that can split the same text in exponentially many ways: {@link exponentialRisk}
 * (nested unbounded repetition, unless every inner repetition is closed by a character it cannot
 * match, as in `(?:,\w+="[^"]*")*`, or each iteration holds a character no inner repetition can
 * match, as in `(?: \S+=\d+)*`).
 *
 * Pure: syntax only.
 */

/** Whether V8's linear-time engine can run this JavaScript regex (so the fallback bounds it). */
export function linearEngineCanRun(regex: RegExp): boolean {
  if (regex.flags.includes('i')) return false;
  return !/\(\?<?[=!]|\\k<|\\[1-9]/.test(stripClasses(regex.source));
}

/** The source with character classes and escaped characters blanked (for syntax checks). */
function stripClasses(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') {
      out += inClass ? '__' : source.slice(i, i + 2);
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += '_';
      continue;
    }
    if (c === '[') inClass = true;
    out += inClass ? '_' : c;
  }
  return out;
}

interface Atom {
  readonly kind: 'atom';
  /** Python source of the atom. */
  readonly text: string;
}
interface Group {
  readonly kind: 'group';
  readonly text: string;
  readonly alternatives: Item[][];
}
type Node = Atom | Group;
interface Item {
  readonly node: Node;
  readonly min: number;
  readonly max: number;
  readonly text: string;
}

/**
 * Parses a Python pattern into items (atoms, groups) with their repetition counts; only what
 * {@link exponentialRisk} needs (lookarounds and other `(?...)` groups are groups like any other).
 */
function parse(pattern: string): Item[][] {
  let i = 0;
  const sequence = (): Item[][] => {
    const alternatives: Item[][] = [[]];
    while (i < pattern.length && pattern[i] !== ')') {
      const c = pattern[i] as string;
      if (c === '|') {
        alternatives.push([]);
        i++;
        continue;
      }
      const start = i;
      let node: Node;
      if (c === '(') {
        i++;
        const header = /^\?(?:P<[^>]+>|P=[^)]+|<?[=!]|[aiLmsux-]*:|#[^)]*|\([^)]*\))?/.exec(
          pattern.slice(i),
        );
        i += header?.[0].length ?? 0;
        const inner = sequence();
        i++; // ')'
        node = { kind: 'group', text: pattern.slice(start, i), alternatives: inner };
      } else if (c === '[') {
        let j = i + 1;
        if (pattern[j] === '^') j++;
        if (pattern[j] === ']') j++;
        while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
        i = j + 1;
        node = { kind: 'atom', text: pattern.slice(start, i) };
      } else {
        i += c === '\\' ? 2 : 1;
        node = { kind: 'atom', text: pattern.slice(start, i) };
      }
      const q = /^(?:([*+?])|\{(\d*)(?:(,)(\d*))?\})\??/.exec(pattern.slice(i));
      let min = 1;
      let max = 1;
      if (q) {
        if (q[1] === '*') [min, max] = [0, Infinity];
        else if (q[1] === '+') [min, max] = [1, Infinity];
        else if (q[1] === '?') [min, max] = [0, 1];
        else {
          min = Number(q[2] || 0);
          max = q[3] ? (q[4] ? Number(q[4]) : Infinity) : min;
        }
        i += q[0].length;
      }
      (alternatives[alternatives.length - 1] as Item[]).push({
        node,
        min,
        max,
        text: pattern.slice(start, i),
      });
    }
    return alternatives;
  };
  const out: Item[][] = [];
  while (i < pattern.length) {
    out.push(...sequence());
    i++; // a stray ')': Python rejects it anyway
  }
  return out;
}

/** A single literal character an atom stands for, if it is one. */
const CONTROL_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  f: '\f',
  v: '\v',
};

function literalChar(text: string): string | undefined {
  if (text.length === 1 && !'.^$'.includes(text)) return text;
  if (text.length === 2 && text[0] === '\\' && CONTROL_ESCAPES[text[1] as string]) {
    return CONTROL_ESCAPES[text[1] as string];
  }
  if (text.length === 2 && text[0] === '\\' && !/[A-Za-z0-9]/.test(text[1] as string)) {
    return text[1];
  }
  return undefined;
}

/** Whether atom `text` (a class, `.`, an escape or a literal) can match character `ch`. */
function atomMatches(text: string, ch: string): boolean {
  const lit = literalChar(text);
  if (lit !== undefined) return lit === ch;
  if (text === '.') return ch !== '\n';
  try {
    return new RegExp(`^${text}$`).test(ch);
  } catch {
    return true;
  }
}

/**
 * An unbounded repetition of an atom that gives no choice: it is followed in its sequence by a
 * required literal character it cannot match (`\w+=`, `[^"]*"`).
 */
function closedRepetition(items: readonly Item[], k: number): boolean {
  const item = items[k] as Item;
  const next = items[k + 1];
  if (item.node.kind !== 'atom' || next === undefined || next.min < 1) return false;
  const ch = next.node.kind === 'atom' ? literalChar(next.node.text) : undefined;
  return ch !== undefined && !atomMatches(item.node.text, ch);
}

/** The first inner unbounded repetition that can backtrack, inside `alternatives`. */
function openInnerRepetition(alternatives: readonly (readonly Item[])[]): Item | undefined {
  for (const items of alternatives) {
    for (let k = 0; k < items.length; k++) {
      const item = items[k] as Item;
      if (item.max === Infinity && !closedRepetition(items, k)) return item;
      if (item.node.kind === 'group') {
        const inner = openInnerRepetition(item.node.alternatives);
        if (inner) return inner;
      }
    }
  }
  return undefined;
}

/** Characters a disjointness check tries: ASCII and the Unicode spaces. */
const SAMPLE = [
  ...Array.from({ length: 128 }, (_, k) => String.fromCharCode(k)),
  '\u0085',
  '\u00a0',
  '\u00e9',
  '\u2028',
  '\u2029',
  '\ufeff',
];

/** Whether two atoms can match a common character (tried on {@link SAMPLE}). */
function overlap(a: string, b: string): boolean {
  return SAMPLE.some((ch) => atomMatches(a, ch) && atomMatches(b, ch));
}

/** Every unbounded repetition inside `alternatives`; a repeated group counts as `undefined`. */
function unboundedAtoms(alternatives: readonly (readonly Item[])[], out: (string | undefined)[]) {
  for (const items of alternatives) {
    for (const item of items) {
      if (item.max === Infinity) out.push(item.node.kind === 'atom' ? item.node.text : undefined);
      if (item.node.kind === 'group') unboundedAtoms(item.node.alternatives, out);
    }
  }
  return out;
}

/**
 * Whether each iteration of a repeated group holds a required character no repetition inside it
 * can match (`(?: \S+=\d+)*`: the space): iterations then cannot share text, and the ways to split
 * a line stay polynomial.
 */
function delimited(alternatives: readonly (readonly Item[])[]): boolean {
  const reps = unboundedAtoms(alternatives, []);
  if (reps.includes(undefined)) return false;
  return alternatives.every((items) =>
    items.some(
      (item) =>
        item.node.kind === 'atom' &&
        item.min >= 1 &&
        reps.every((r) => !overlap(r as string, (item.node as Atom).text)),
    ),
  );
}

/**
 * The fragment of a Python pattern that can make it backtrack exponentially (an unbounded
 * repetition of a group holding an unbounded repetition that can give back characters, like
 * `(?:\w+\s?)+`, with no delimiter between iterations), or undefined.
 */
export function exponentialRisk(pattern: string): string | undefined {
  const visit = (alternatives: readonly (readonly Item[])[]): string | undefined => {
    for (const items of alternatives) {
      for (const item of items) {
        if (item.node.kind !== 'group') continue;
        const body = item.node.alternatives;
        if (item.max === Infinity && openInnerRepetition(body) && !delimited(body)) {
          return item.text;
        }
        const inner = visit(body);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  return visit(parse(pattern));
}
