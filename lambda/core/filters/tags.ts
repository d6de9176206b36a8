/**
 * fail2ban's second interpolation layer: `<tag>` substitution, innermost tag first, so
 * `<mdre-<mode>>` becomes `<mdre-normal>` and is then looked up. Unknown tags (`<HOST>`,
 * `<F-CONTENT>`, ...) are left for the regex compiler.
 */
import { FilterError } from '../errors.js';

const TAG = /<([^ <>]+)>/g;
const MAX_REPLACEMENTS = 25;

/**
 * Substitutes tags in every value of `tags` until stable. `lookup` resolves names not in `tags`
 * (e.g. other `[Definition]` options, `section/option`, `known/option`); undefined = leave as is.
 */
export function substituteTags(
  tags: ReadonlyMap<string, string>,
  lookup: (name: string) => string | undefined,
): Map<string, string> {
  const out = new Map(tags);
  const done = new Set<string>();
  const counts = new Map<string, Map<string, number>>();
  for (;;) {
    let repeat = false;
    for (const [tag, original] of out) {
      if (done.has(tag)) continue;
      let value = original;
      const rplc = counts.get(tag) ?? new Map<string, number>();
      TAG.lastIndex = 0;
      let m = TAG.exec(value);
      while (m) {
        const rtag = m[1] ?? '';
        if (rtag === tag || (rplc.get(rtag) ?? 1) > MAX_REPLACEMENTS) {
          throw new FilterError(
            `option '${tag}' refers to itself through <${rtag}> and cannot be resolved`,
            { option: tag },
          );
        }
        const repl = out.get(rtag) ?? lookup(rtag);
        if (repl === undefined) {
          m = TAG.exec(value);
          continue;
        }
        value = value.split(`<${rtag}>`).join(repl);
        rplc.set(rtag, (rplc.get(rtag) ?? 0) + 1);
        TAG.lastIndex = m.index;
        m = TAG.exec(value);
      }
      if (value !== original) {
        TAG.lastIndex = 0;
        if (TAG.test(value)) {
          counts.set(tag, rplc);
          repeat = true;
        }
        out.set(tag, value);
      }
      if (!value.includes('<')) done.add(tag);
    }
    if (!repeat) break;
  }
  return out;
}
