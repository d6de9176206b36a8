/**
 * Filter files on the local file system: fail2ban's filter.d, a user's `.conf`, or cloudjail's
 * built-in filters shipped in the package's top-level `filter.d/`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Filter,
  type FilterFileSource,
  loadFilter,
  parseFilterSpec,
} from '../core/filters/index.js';
import { enableRegexpFallback } from './regexp-fallback.js';

/** Reads filter files with node:fs (UTF-8); undefined when absent or not a file. */
export const nodeFilterFiles: FilterFileSource = {
  read(path) {
    try {
      if (!statSync(path).isFile()) return undefined;
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  list(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
};

/**
 * The package's `filter.d/` directory. In a bundled Lambda the directory sits next to the bundle;
 * the handler passes `ENV.filterDir` instead.
 */
export const BUILTIN_FILTER_DIR = fileURLToPath(new URL('../../filter.d', import.meta.url));

/**
 * Loads a built-in filter by name (`freeswitch[mode=normal]`) from `builtinDir`, or a filter file
 * by path (`/etc/fail2ban/filter.d/sshd.conf[mode=aggressive]`, relative paths from the cwd).
 */
export function loadBuiltinOrFileFilter(
  spec: string,
  jailOptions?: Readonly<Record<string, string>>,
  builtinDir: string = BUILTIN_FILTER_DIR,
): Filter {
  enableRegexpFallback();
  const { name } = parseFilterSpec(spec);
  const isPath = name.includes('/') || name.endsWith('.conf') || name.endsWith('.local');
  let fullSpec = spec;
  if (isPath && !name.startsWith('/')) {
    fullSpec = resolve(name) + spec.trim().slice(name.length);
  }
  const filterDir = isPath ? resolve(fullSpec.replace(/\[.*$/, ''), '..') : builtinDir;
  return loadFilter(fullSpec, {
    files: nodeFilterFiles,
    filterDir,
    ...(jailOptions ? { jailOptions } : {}),
  });
}
