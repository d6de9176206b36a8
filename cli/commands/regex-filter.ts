/**
 * What `cloudjail regex <input> <filter> [ignoreregex]` tests, decided as fail2ban-regex decides
 * it: a filter file (a path that exists, with or without `[parameters]`), a filter name
 * (`freeswitch[mode=ddos]`), or else a literal failregex (`'NOTICE.* .*: Incoming SIP connection
 * from unknown peer failed for <HOST> - Unknown connection from peer'`). The optional third
 * argument is a literal ignoreregex, added to the filter's own.
 */
import { existsSync, statSync } from 'node:fs';
import { loadBuiltinOrFileFilter, nodeFilterFiles } from '../../lambda/adapters/filter-files.js';
import { enableRegexpFallback } from '../../lambda/adapters/regexp-fallback.js';
import { type Filter, loadFilter } from '../../lambda/core/filters/index.js';

/** The file name a literal failregex is loaded as (shown by `regex`). */
export const LITERAL_FILTER_FILE = '<literal failregex>';

const LITERAL_DIR = '/<cloudjail-literal>';
const LITERAL_PATH = `${LITERAL_DIR}/failregex.conf`;

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}

/** An INI value: `%` doubled (no interpolation), continuation lines indented. */
function iniValue(text: string): string {
  return text.replace(/%/g, '%%').replace(/\n/g, '\n    ');
}

/** Whether `spec` names a filter (file or built-in) rather than being a literal regex. */
export function namesFilter(spec: string): boolean {
  const name = spec.trim().replace(/\[[^\]]*\]$/, '');
  if (isFile(name)) return true;
  // `freeswitch[mode=extra` (a name, then parameters): a filter spec, even a broken one.
  if (/^[\w.-]+\[[\w.-]+=/.test(spec.trim())) return true;
  // A word such as `freeswitch` or `my-filter`, or a path to a missing .conf/.local: a filter (an
  // unknown one is reported as such, not run as a regex that has no <HOST>).
  return /^[\w.-]+$/.test(name) || /^[^\s<>()*+?|\\]+\.(?:conf|local)$/.test(name);
}

/** Loads what `regex` was given; throws FilterError (bad filter, bad regex). */
export function loadRegexArgument(spec: string, ignoreregex?: string): Filter {
  if (namesFilter(spec)) {
    const jailOptions =
      ignoreregex === undefined
        ? undefined
        : { ignoreregex: `%(known/ignoreregex)s\n${ignoreregex}` };
    return loadBuiltinOrFileFilter(spec, jailOptions);
  }
  enableRegexpFallback();
  const text = `[Definition]\nfailregex = ${iniValue(spec)}\nignoreregex = ${iniValue(ignoreregex ?? '')}\n`;
  const filter = loadFilter(LITERAL_PATH, {
    filterDir: LITERAL_DIR,
    files: { read: (p) => (p === LITERAL_PATH ? text : nodeFilterFiles.read(p)) },
  });
  return { ...filter, file: LITERAL_FILTER_FILE, name: 'failregex' };
}
