/**
 * Required literals of a regex: strings of which at least one must occur in any text the regex
 * matches. A `text.includes(...)` check on them is far cheaper than running a long prefix regex on
 * every log line, and it is safe: when no required literal occurs, the regex cannot match.
 *
 * Works on Python-syntax source after tag expansion. Anything not understood yields no literal
 * (no pre-check), never a wrong one.
 */

type Item =
  | { kind: 'char'; ch: string; optional: boolean }
  | { kind: 'group'; alts: Item[][]; optional: boolean; lookaround: boolean }
  | { kind: 'other'; optional: boolean };

const QUANT_OPTIONAL = /^(?:\?|\*|\{0(?:,\d*)?\})\??/;
const QUANT_REQUIRED = /^(?:\+|\{[1-9]\d*(?:,\d*)?\})\??/;
const ESCAPED_LITERAL = /^[^A-Za-z0-9]$/;

/** Parses a sequence until ')' or end; throws on anything unexpected (caller gives up). */
function parseAlternatives(src: string, start: number): { alts: Item[][]; end: number } {
  const alts: Item[][] = [[]];
  let i = start;
  while (i < src.length) {
    const c = src[i] as string;
    if (c === ')') break;
    if (c === '|') {
      alts.push([]);
      i++;
      continue;
    }
    let item: Item;
    if (c === '\\') {
      const d = src[i + 1];
      if (d === undefined) throw new Error('trailing backslash');
      item = ESCAPED_LITERAL.test(d)
        ? { kind: 'char', ch: d, optional: false }
        : { kind: 'other', optional: false };
      // \xhh, \uhhhh and \0oo are one character each.
      const more = /^(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|0[0-7]{0,2})/.exec(src.slice(i + 1));
      i += more ? 1 + more[0].length : 2;
    } else if (c === '[') {
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new Error('unterminated class');
      item = { kind: 'other', optional: false };
      i = j + 1;
    } else if (c === '(') {
      let j = i + 1;
      let lookaround = false;
      if (src[j] === '?') {
        const rest = src.slice(j + 1);
        const named = /^P<[^>]+>/.exec(rest);
        if (named) j += 1 + named[0].length;
        else if (rest.startsWith(':')) j += 2;
        else if (/^(?:[=!]|<=|<!)/.test(rest)) {
          lookaround = true;
          j += rest.startsWith('<') ? 3 : 2;
        } else throw new Error('unsupported group');
      }
      const inner = parseAlternatives(src, j);
      if (src[inner.end] !== ')') throw new Error('unbalanced');
      item = { kind: 'group', alts: inner.alts, optional: false, lookaround };
      i = inner.end + 1;
    } else if ('.^$'.includes(c)) {
      item = { kind: 'other', optional: false };
      i++;
    } else if ('*+?{'.includes(c)) {
      throw new Error('dangling quantifier');
    } else {
      item = { kind: 'char', ch: c, optional: false };
      i++;
    }
    const rest = src.slice(i);
    const opt = QUANT_OPTIONAL.exec(rest);
    if (opt) {
      item.optional = true;
      i += opt[0].length;
    } else {
      const req = QUANT_REQUIRED.exec(rest);
      if (req) {
        // One occurrence is required, but repeated chars break a literal run.
        if (item.kind === 'char') item = { kind: 'other', optional: false };
        i += req[0].length;
      }
    }
    (alts[alts.length - 1] as Item[]).push(item);
  }
  return { alts, end: i };
}

/** Best required literal set of a sequence: every match contains one of them. */
function requiredOf(seq: readonly Item[]): string[] | undefined {
  let best: string[] | undefined;
  const consider = (set: string[] | undefined) => {
    if (!set || set.length === 0 || set.some((s) => s === '')) return;
    const score = Math.min(...set.map((s) => s.length));
    const bestScore = best ? Math.min(...best.map((s) => s.length)) : 0;
    if (score > bestScore || (score === bestScore && best && set.length < best.length)) best = set;
  };
  let run = '';
  for (const item of seq) {
    if (item.kind === 'char' && !item.optional) {
      run += item.ch;
      continue;
    }
    consider(run ? [run] : undefined);
    run = '';
    if (item.kind === 'group' && !item.optional && !item.lookaround) {
      const sets = item.alts.map(requiredOf);
      if (sets.every((s) => s !== undefined)) consider(sets.flat() as string[]);
    }
  }
  consider(run ? [run] : undefined);
  return best;
}

/**
 * Literals of which at least one occurs in every match of `source` (Python syntax), or undefined
 * when none can be proven. Case-insensitive patterns yield undefined.
 */
export function requiredLiterals(source: string): string[] | undefined {
  if (/\(\?[a-zA-Z]*i/.test(source)) return undefined;
  try {
    const parsed = parseAlternatives(source, 0);
    if (parsed.end !== source.length) return undefined;
    const sets = parsed.alts.map(requiredOf);
    if (sets.some((s) => s === undefined)) return undefined;
    const all = [...new Set(sets.flat() as string[])];
    return all.length > 0 && Math.min(...all.map((s) => s.length)) >= 3 ? all : undefined;
  } catch {
    return undefined;
  }
}
