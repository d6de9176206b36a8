/**
 * Extending a filter of the filter directory the fail2ban way, from somewhere else: a spec naming
 * `<dir>/freeswitch.local` (when the filter directory has a `freeswitch.conf`) means "the filter directory's
 * `freeswitch.conf`, with `<dir>/freeswitch.local` and `<dir>/freeswitch.d/*.conf|*.local` read
 * in fail2ban's order (conf, d/*.conf, local, d/*.local)". That is how a user's `freeswitch.local`
 * beside their configuration adds failregexes to cloudjail's built-in `freeswitch`, per jail and
 * without touching the built-in files.
 *
 * Pure: files are read through a {@link FilterFileSource}.
 */
import type { FilterFileSource } from './ini.js';

export interface FilterExtension {
  /** The extended filter file (`<filterDir>/<stem>.conf`). */
  readonly base: string;
  /** The directory holding the extension files. */
  readonly dir: string;
  readonly stem: string;
  /** The source reading the extension files in place of the filter directory's own. */
  readonly files: FilterFileSource;
}

function split(path: string): { dir: string; base: string } {
  const i = path.lastIndexOf('/');
  return { dir: i <= 0 ? '/' : path.slice(0, i), base: path.slice(i + 1) };
}

/**
 * The extension named by a spec's file part, or undefined when it is not one (not a `.local`
 * path, no such filter in `filterDir`, or neither the `.local` nor the
 * `.d/` directory exists).
 */
export function filterExtension(
  name: string,
  filterDir: string,
  files: FilterFileSource,
): FilterExtension | undefined {
  if (!name.includes('/') || !name.endsWith('.local')) return undefined;
  const { dir, base: file } = split(name);
  const stem = file.slice(0, -'.local'.length);
  const root = filterDir.replace(/\/+$/, '');
  if (stem === '' || dir === root) return undefined;
  const base = `${root}/${stem}.conf`;
  // A `.conf` beside the `.local` (fail2ban's own, in a copied /etc/fail2ban) is not read: the
  // `.local` extends the filter directory's filter of that name.
  if (files.read(base) === undefined) return undefined;
  const local = `${dir}/${stem}.local`;
  const dDir = `${dir}/${stem}.d`;
  if (files.read(local) === undefined && (files.list?.(dDir) ?? []).length === 0) return undefined;
  const ownLocal = `${root}/${stem}.local`;
  const ownD = `${root}/${stem}.d`;
  const view: FilterFileSource = {
    read(path) {
      if (path === ownLocal) return files.read(local);
      if (path.startsWith(`${ownD}/`)) return files.read(`${dDir}/${path.slice(ownD.length + 1)}`);
      return files.read(path);
    },
    list(path) {
      if (path === ownD) return files.list?.(dDir) ?? [];
      return files.list?.(path) ?? [];
    },
  };
  return { base, dir, stem, files: view };
}
