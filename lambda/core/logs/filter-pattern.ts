/**
 * CloudWatch Logs filter patterns for unstructured log events (subscription filters,
 * FilterLogEvents): parsed once, then matched against event messages. Pure.
 *
 * Supported, as CloudWatch Logs documents them:
 * - `""` (or only blanks): every event.
 * - terms, all required: `ERROR Exception`; a term is case-sensitive and matches a whole word of
 *   the message (letters, digits and `_` form words), a quoted phrase (`"failed for"`) likewise
 *   matches as a whole (it may hold any characters).
 * - `?term`: at least one of the `?` terms (when every term has `?`: OR of them all; mixed with
 *   plain terms: the plain terms AND at least one `?` term).
 * - `-term`: excluded; events holding it do not match.
 * - `%regex%`: the whole pattern is a regular expression matched anywhere in the message,
 *   case-sensitive, in CloudWatch's restricted dialect: letters, digits, the symbols
 *   `: _ # = @ / ; , -` and space, the operators `^ $ ? [ ] { } | \ * + .`; no groups `( )`, no
 *   multi-byte characters.
 *
 * Not supported (rejected with a clear message): JSON (`{ $.x = … }`) and space-delimited
 * (`[ip, user, …]`) patterns.
 */

export class FilterPatternError extends Error {}

export interface FilterPattern {
  /** The pattern text as given. */
  readonly text: string;
  /** Whether the pattern is a `%regex%` (counts against the 5 regex filters per log group). */
  readonly isRegex: boolean;
  matches(message: string): boolean;
}

interface Term {
  readonly kind: 'required' | 'optional' | 'excluded';
  readonly text: string;
}

const REGEX_ALLOWED = /^[A-Za-z0-9:_#=@/;,\- ^$?[\]{}|\\*+.]*$/;

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

/** Whether `needle` occurs in `haystack` with no word character glued to either end. */
function containsWord(haystack: string, needle: string): boolean {
  if (needle === '') return true;
  const gluedStart = isWordChar(needle[0]);
  const gluedEnd = isWordChar(needle[needle.length - 1]);
  let from = 0;
  for (;;) {
    const at = haystack.indexOf(needle, from);
    if (at < 0) return false;
    const before = haystack[at - 1];
    const after = haystack[at + needle.length];
    if ((!gluedStart || !isWordChar(before)) && (!gluedEnd || !isWordChar(after))) return true;
    from = at + 1;
  }
}

function tokenize(text: string): Term[] {
  const terms: Term[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    let kind: Term['kind'] = 'required';
    if (c === '?' || c === '-') {
      kind = c === '?' ? 'optional' : 'excluded';
      i++;
    }
    if (text[i] === '"') {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        value += text[j];
        j++;
      }
      if (j >= text.length) {
        throw new FilterPatternError(
          `filter pattern ${JSON.stringify(text)}: unterminated quoted phrase at ${i}`,
        );
      }
      terms.push({ kind, text: value });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== ' ' && text[j] !== '\t') j++;
    const value = text.slice(i, j);
    if (value === '') {
      throw new FilterPatternError(
        `filter pattern ${JSON.stringify(text)}: "${c}" at ${i - 1} has no term after it`,
      );
    }
    terms.push({ kind, text: value });
    i = j;
  }
  return terms;
}

function compileRegex(text: string): RegExp {
  const body = text.slice(1, -1);
  if (body === '')
    throw new FilterPatternError(`filter pattern ${JSON.stringify(text)}: empty regex`);
  if (!REGEX_ALLOWED.test(body)) {
    const bad = [...body].find((ch) => !REGEX_ALLOWED.test(ch));
    throw new FilterPatternError(
      `filter pattern ${JSON.stringify(text)}: character ${JSON.stringify(bad)} is not allowed in a regex pattern (no groups "( )", no multi-byte characters)`,
    );
  }
  try {
    return new RegExp(body);
  } catch (e) {
    throw new FilterPatternError(
      `filter pattern ${JSON.stringify(text)}: invalid regex (${(e as Error).message})`,
    );
  }
}

/** Parses a filter pattern; throws FilterPatternError naming what is wrong. */
export function parseFilterPattern(text: string): FilterPattern {
  const trimmed = text.trim();
  if (trimmed === '') return { text, isRegex: false, matches: () => true };
  if (trimmed.length >= 2 && trimmed.startsWith('%') && trimmed.endsWith('%')) {
    const re = compileRegex(trimmed);
    return { text, isRegex: true, matches: (message) => re.test(message) };
  }
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    throw new FilterPatternError(
      `filter pattern ${JSON.stringify(text)}: JSON and space-delimited patterns are not supported here (use terms or %regex%)`,
    );
  }
  const terms = tokenize(trimmed);
  const required = terms.filter((t) => t.kind === 'required').map((t) => t.text);
  const optional = terms.filter((t) => t.kind === 'optional').map((t) => t.text);
  const excluded = terms.filter((t) => t.kind === 'excluded').map((t) => t.text);
  return {
    text,
    isRegex: false,
    matches(message) {
      for (const t of required) if (!containsWord(message, t)) return false;
      for (const t of excluded) if (containsWord(message, t)) return false;
      return optional.length === 0 || optional.some((t) => containsWord(message, t));
    },
  };
}
