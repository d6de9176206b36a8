/**
 * Reads a configuration file for the embedded mode (`local`, `replay`, `demo`): the cloudjail
 * configuration itself, or a cdk.json holding it under `context.cloudjail`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBuiltinOrFileFilter } from '../lambda/adapters/filter-files.js';
import { type CloudjailConfig, parseCloudjailConfig } from '../lambda/config/cloudjail-config.js';
import { CloudjailError, ConfigError } from '../lambda/core/errors.js';
import { userFilterPath } from '../lib/filter-bundle.js';
import { CONFIG_CONTEXT_KEY } from '../lib/outputs.js';
import { CliError } from './exit-codes.js';

/** The bundled demo configuration. */
export const SAMPLE_CONFIG = fileURLToPath(new URL('../samples/cloudjail.json', import.meta.url));
/** The bundled sample logs. */
export const SAMPLE_LOGS = {
  freeswitch: fileURLToPath(new URL('../samples/freeswitch.log', import.meta.url)),
  asterisk: fileURLToPath(new URL('../samples/asterisk.log', import.meta.url)),
} as const;

export interface LoadedConfig {
  readonly path: string;
  /** The raw JSON (what a local server hands to the other commands). */
  readonly raw: unknown;
  readonly config: CloudjailConfig;
}

export function loadConfigFile(path: string = SAMPLE_CONFIG): LoadedConfig {
  if (!existsSync(path)) throw new CliError(`--config: ${path} does not exist`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`--config: ${path} is not JSON (${(e as Error).message})`);
  }
  const context = (json as { context?: Record<string, unknown> } | null)?.context;
  const raw =
    context && typeof context === 'object' && CONFIG_CONTEXT_KEY in context
      ? context[CONFIG_CONTEXT_KEY]
      : json;
  // Relative filter paths from the configuration file's directory; every problem at once: the
  // configuration's and its filters' (each loaded as replay will).
  const fromFile = withFiltersFrom(dirname(resolve(path)), raw);
  const parsed = parseCloudjailConfig(fromFile);
  const problems = [...parsed.problems, ...filterProblems(fromFile)];
  if (!parsed.value || problems.length > 0) {
    throw new CliError(
      `${path}: ${new ConfigError(problems.length > 0 ? problems : ['configuration could not be read'], 'cloudjail configuration').message}`,
    );
  }
  return { path, raw: fromFile, config: parsed.value };
}

/** Loads the filter of every jail that names one: `jails[i].filter (jail "x"): …` per failure. */
export function filterProblems(raw: unknown): string[] {
  const jails = (raw as { jails?: unknown } | null)?.jails;
  if (!Array.isArray(jails)) return [];
  return jails.flatMap((jail, index) => {
    const { name, filter } = (jail ?? {}) as { name?: unknown; filter?: unknown };
    if (typeof filter !== 'string' || filter.trim() === '') return [];
    try {
      loadBuiltinOrFileFilter(filter);
      return [];
    } catch (e) {
      if (!(e instanceof CloudjailError)) throw e;
      const jailName = typeof name === 'string' ? ` (jail ${JSON.stringify(name)})` : '';
      return [`jails[${index}].filter${jailName}: ${e.message}`];
    }
  });
}

/**
 * The configuration with each jail's relative filter path (`./filters/my.conf[mode=x]`) made
 * absolute from `dir`, the configuration file's directory (as `cdk synth` reads them from
 * cdk.json's), whatever the current directory.
 */
function withFiltersFrom(dir: string, raw: unknown): unknown {
  const jails = (raw as { jails?: unknown } | null)?.jails;
  if (!Array.isArray(jails)) return raw;
  const absolute = jails.map((jail: unknown) => {
    const filter = (jail as { filter?: unknown } | null)?.filter;
    if (typeof filter !== 'string') return jail;
    const file = userFilterPath(filter);
    if (file === undefined || isAbsolute(file)) return jail;
    return { ...(jail as object), filter: filter.replace(file, resolve(dir, file)) };
  });
  return { ...(raw as object), jails: absolute };
}
