/**
 * Filter files on the local file system: fail2ban's filter.d, a user's `.conf`, or cloudjail's
 * built-in filters shipped in the package's top-level `filter.d/`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
 * A user's filter directory with the built-ins behind it: a file the user directory lacks (an
 * include such as `before = asterisk.conf`) is read from `builtinDir`, as `cdk synth` and the
 * detector Lambda (one directory holding both) resolve it.
 */
export function layeredFilterFiles(userDir: string, builtinDir: string): FilterFileSource {
  const prefix = `${userDir.replace(/\/+$/, '')}/`;
  const inBuiltins = (path: string) =>
    path.startsWith(prefix) ? join(builtinDir, path.slice(prefix.length)) : undefined;
  return {
    read(path) {
      const own = nodeFilterFiles.read(path);
      if (own !== undefined) return own;
      const builtin = inBuiltins(path);
      return builtin === undefined ? undefined : nodeFilterFiles.read(builtin);
    },
    list(dir) {
      const names = new Set(nodeFilterFiles.list?.(dir) ?? []);
      const builtin = inBuiltins(`${dir.replace(/\/+$/, '')}/`);
      if (builtin !== undefined)
        for (const n of nodeFilterFiles.list?.(builtin) ?? []) names.add(n);
      return [...names].sort();
    },
  };
}

/**
 * The package's `filter.d/` directory. In a bundled Lambda the directory sits next to the bundle;
 * the handler passes `ENV.filterDir` instead.
 */
export const BUILTIN_FILTER_DIR = fileURLToPath(new URL('../../filter.d', import.meta.url));

/**
 * Loads a built-in filter by name (`freeswitch[mode=normal]`) from `builtinDir`, or a filter file
 * by path (`/etc/fail2ban/filter.d/sshd.conf[mode=aggressive]`, relative paths from `baseDir`,
 * default the cwd). A file's includes resolve beside it, then among the built-ins.
 */
export function loadBuiltinOrFileFilter(
  spec: string,
  jailOptions?: Readonly<Record<string, string>>,
  builtinDir: string = BUILTIN_FILTER_DIR,
  baseDir?: string,
): Filter {
  enableRegexpFallback();
  const { name } = parseFilterSpec(spec);
  const isPath = name.includes('/') || name.endsWith('.conf') || name.endsWith('.local');
  let fullSpec = spec;
  if (isPath && !name.startsWith('/')) {
    fullSpec = resolve(baseDir ?? '.', name) + spec.trim().slice(name.length);
  }
  const filterDir = isPath ? resolve(fullSpec.replace(/\[.*$/, ''), '..') : builtinDir;
  return loadFilter(fullSpec, {
    files: isPath ? layeredFilterFiles(filterDir, builtinDir) : nodeFilterFiles,
    filterDir,
    ...(jailOptions ? { jailOptions } : {}),
  });
}
