/**
 * Reads a configuration file for the embedded mode (`local`, `replay`, `demo`): the cloudjail
 * configuration itself, or a cdk.json holding it under `context.cloudjail`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CloudjailConfig, loadCloudjailConfig } from '../lambda/config/cloudjail-config.js';
import { ConfigError } from '../lambda/core/errors.js';
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
  try {
    return { path, raw, config: loadCloudjailConfig(raw) };
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${path}: ${e.message}`);
    throw e;
  }
}
