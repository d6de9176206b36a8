/**
 * Reads a fail2ban filter file set and produces the final option values, as fail2ban's
 * FilterReader does: `[Definition]` + `[Init]` + jail parameters (precedence jail > [Init] >
 * [Definition] > [DEFAULT]), INI interpolation, then `<tag>` substitution.
 */
import { FilterError } from '../errors.js';
import { type FilterFileSource, IniConfig, type RawValue } from './ini.js';
import { substituteTags } from './tags.js';

/** Options a jail may set that replace the filter's own (`%(known/x)s` extends). */
export const JAIL_DEFINITION_OPTIONS = [
  'failregex',
  'ignoreregex',
  'prefregex',
  'datepattern',
  'maxlines',
  'usedns',
  'journalmatch',
] as const;

const READ_OPTIONS = [...JAIL_DEFINITION_OPTIONS, 'cloudjail_preprocess'];

export interface AssembledFilter {
  readonly file: string;
  readonly files: readonly string[];
  /** Final values (after both interpolation layers) of the options the engine uses. */
  readonly options: Readonly<Record<string, string | undefined>>;
  /** 1-based line of each option in its file, for error messages. */
  readonly lines: Readonly<Record<string, { file: string; line: number } | undefined>>;
}

/**
 * A filter whose failregex selects its regexes by mode (`<cj-<mode>>`, fail2ban's
 * `<mode>-<...>` style): an unknown mode is named with the modes the file defines, instead of
 * leaving an unresolved tag (which would read as "no failure-id group").
 */
function checkMode(config: IniConfig, vars: ReadonlyMap<string, RawValue>, path: string): void {
  const mode = config.get('Definition', 'mode', vars);
  const failregex = config.raw('Definition', 'failregex')?.value ?? '';
  const ref = /<([\w.-]*)<mode>>/.exec(failregex);
  if (mode === undefined || !ref) return;
  const prefix = ref[1] as string;
  const keys = [...(config.sections.get('Definition')?.keys() ?? [])];
  if (keys.includes(`${prefix}${mode.trim()}`)) return;
  const modes = keys.filter((k) => k.startsWith(prefix) && k.length > prefix.length);
  throw new FilterError(
    `unknown mode ${mode.trim()} (${modes.map((k) => k.slice(prefix.length)).join(', ')})`,
    { file: path, option: 'mode' },
  );
}

export function assembleFilter(
  path: string,
  files: FilterFileSource,
  jailOptions: Readonly<Record<string, string>> = {},
): AssembledFilter {
  const config = IniConfig.load(path, files);
  if (!config.sections.has('Definition')) {
    throw new FilterError('no [Definition] section', { file: path });
  }
  const jailDefinition: Record<string, string> = {};
  const vars = new Map<string, RawValue>();
  const init = config.sections.get('Init');
  // [Init] values stay raw: configparser interpolates `vars` when they are read.
  if (init) for (const [k, v] of init) vars.set(k, v);
  for (const [rawKey, value] of Object.entries(jailOptions)) {
    const key = rawKey.toLowerCase();
    if ((JAIL_DEFINITION_OPTIONS as readonly string[]).includes(key)) jailDefinition[key] = value;
    else vars.set(key, { value, file: '<jail>', line: 0 });
  }
  if (!vars.has('logtype') && !config.sections.get('Definition')?.has('logtype')) {
    vars.set('logtype', { value: 'file', file: '<implicit>', line: 0 });
  }
  checkMode(config, vars, path);
  const combined = new Map<string, string>();
  const lines: Record<string, { file: string; line: number } | undefined> = {};
  for (const opt of READ_OPTIONS) {
    const raw = config.raw('Definition', opt);
    let value = config.get('Definition', opt, vars);
    const jail = jailDefinition[opt];
    if (jail !== undefined) {
      const known = value ?? '';
      value = jail.replace(/%\(known\/([^)]+)\)s/g, (_all, name: string) =>
        name.toLowerCase() === opt ? known : (config.get('Definition', name, vars) ?? ''),
      );
    }
    if (value !== undefined) {
      combined.set(opt, value);
      lines[opt] = raw && jail === undefined ? { file: raw.file, line: raw.line } : undefined;
    }
  }
  for (const k of vars.keys()) {
    if (!combined.has(k)) combined.set(k, config.get('Definition', k, vars) ?? '');
  }
  const substituted = substituteTags(combined, (name) => {
    const slash = name.indexOf('/');
    if (slash > 0) {
      const sec = name.slice(0, slash);
      if (sec.toLowerCase() === 'known') {
        return config.get('Definition', name, vars);
      }
      if (!config.sections.has(sec) && sec.toLowerCase() !== 'default') return undefined;
      return config.get('Definition', name, vars);
    }
    return config.get('Definition', name, vars);
  });
  const options: Record<string, string | undefined> = {};
  for (const opt of READ_OPTIONS) options[opt] = substituted.get(opt);
  return { file: path, files: config.files, options, lines };
}
