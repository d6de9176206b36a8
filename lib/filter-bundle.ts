/**
 * The detector's filter directory, planned and checked at synth time.
 *
 * In the Lambda, filters are read from one flat directory (LAMBDA_FILTER_DIR, passed to the
 * detector as ENV.filterDir) holding cloudjail's built-in `filter.d/` files plus the user files the
 * jails need. This module compiles every jail's filter exactly as the detector will load it
 * (same loader, same spec, same directory, seen through a virtual view of the future package), so a
 * bad regex, an unknown mode or a missing include fails `cdk synth` instead of the first cold
 * start; and it records which files a user filter reads from its own directory (the `.conf`, its
 * `.local` / `.d/` companions, `before =` / `after =` includes such as fail2ban's `common.conf`)
 * so exactly those are shipped. Includes not found beside the user file resolve to the built-ins,
 * as they will in the Lambda.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { CloudjailError } from '../lambda/core/errors.js';
import { filterExtension } from '../lambda/core/filters/extension.js';
import { type FilterFileSource, loadFilter } from '../lambda/core/filters/index.js';

export interface FilterBundlePlan {
  /** The filter spec the detector gets (user paths rewritten into the Lambda filter directory). */
  readonly lambdaSpec: string;
}

export interface FilterBundle {
  /** Files to copy into the package: path relative to the filter directory → local source file. */
  readonly userFiles: ReadonlyMap<string, string>;
  readonly problems: readonly string[];
}

function readFile(path: string): string | undefined {
  try {
    return statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** The `.conf`/`.local` file part of a filter spec (`./my.conf[mode=x]` → `./my.conf`), if any. */
export function userFilterPath(spec: string): string | undefined {
  const bracket = spec.indexOf('[');
  const name = (bracket >= 0 ? spec.slice(0, bracket) : spec).trim();
  return name.endsWith('.conf') || name.endsWith('.local') ? name : undefined;
}

/** `freeswitch.local`, `freeswitch.d/x.conf` → `freeswitch`. */
function stem(relative: string): string {
  return (relative.split('/')[0] ?? relative).replace(/\.(conf|local|d)$/, '');
}

/**
 * Plans the detector's filter directory for these jail filter specs.
 * @param specs the jails' filter specs, by jail index
 * @param lambdaDir the directory the detector reads filters from (absolute)
 * @param builtinDir cloudjail's built-in filter.d on this machine
 * @param configDir what relative user filter paths are relative to
 */
export function planFilterBundle(
  specs: readonly string[],
  lambdaDir: string,
  builtinDir: string,
  configDir: string,
): { bundle: FilterBundle; plans: (FilterBundlePlan | undefined)[] } {
  const problems: string[] = [];
  const userFiles = new Map<string, string>();
  const builtinStems = new Set(
    listDir(builtinDir)
      .filter((n) => n.endsWith('.conf'))
      .map(stem),
  );
  const prefix = `${lambdaDir.replace(/\/+$/, '')}/`;
  const localFiles: FilterFileSource = { read: readFile, list: listDir };
  const plans = specs.map((spec, index): FilterBundlePlan | undefined => {
    const at = `jails[${index}].filter`;
    if (spec === '') return undefined; // a jail for manual bans only: no filter to ship
    const file = userFilterPath(spec);
    let lambdaSpec = spec;
    let userDir: string | undefined;
    // A `.local` extending a built-in ships into its own subdirectory (see core/filters/extension.ts).
    let subdir: string | undefined;
    if (file) {
      const absolute = isAbsolute(file) ? file : resolve(configDir, file);
      const extension = filterExtension(absolute, builtinDir, localFiles);
      if (readFile(absolute) === undefined && !extension) {
        problems.push(
          `${at}: filter file ${JSON.stringify(file)} not found (looked at ${absolute})`,
        );
        return undefined;
      }
      if (extension) subdir = `extend-${index}`;
      lambdaSpec = spec.replace(
        file,
        `${prefix}${subdir ? `${subdir}/` : ''}${basename(absolute)}`,
      );
      userDir = dirname(absolute);
    }
    /** The local file behind a path relative to the package's filter directory, if the user's. */
    const userPath = (relative: string): string | undefined => {
      if (!userDir) return undefined;
      if (subdir === undefined) return join(userDir, relative);
      return relative.startsWith(`${subdir}/`)
        ? join(userDir, relative.slice(subdir.length + 1))
        : undefined;
    };
    const reads = new Map<string, string>();
    const outside: string[] = [];
    // The package's filter directory as the detector will see it.
    const view: FilterFileSource = {
      read(path) {
        if (!path.startsWith(prefix)) {
          // An absolute include outside the package: the Lambda cannot read it.
          if (readFile(path) !== undefined) outside.push(path);
          return undefined;
        }
        const relative = path.slice(prefix.length);
        const local = userPath(relative);
        if (local !== undefined) {
          const text = readFile(local);
          if (text !== undefined) {
            reads.set(relative, local);
            return text;
          }
        }
        return readFile(join(builtinDir, relative));
      },
      list(dir) {
        if (!dir.startsWith(prefix)) return [];
        const relative = dir.slice(prefix.length);
        const names = new Set(listDir(join(builtinDir, relative)));
        const local = userPath(relative);
        if (local !== undefined) for (const n of listDir(local)) names.add(n);
        return [...names].sort();
      },
    };
    const localPath = (message: string) => {
      let out = message;
      for (const [relative, local] of reads) out = out.replaceAll(`${prefix}${relative}`, local);
      // Anything else of the Lambda's directory is looked for among the built-ins on this machine.
      return out.replaceAll(prefix, `${builtinDir.replace(/\/+$/, '')}/`);
    };
    try {
      loadFilter(lambdaSpec, { files: view, filterDir: lambdaDir });
    } catch (error) {
      if (!(error instanceof CloudjailError)) throw error;
      problems.push(`${at}: ${localPath(error.message)}`);
    }
    for (const path of outside) {
      problems.push(
        `${at}: includes ${path}, outside the filter's directory: the detector cannot read it (copy it next to the filter and include it by relative name)`,
      );
    }
    for (const [relative, local] of reads) {
      if (builtinStems.has(stem(relative))) {
        problems.push(
          `${at}: ${local} would be shipped as filter.d/${relative} and change the built-in "${stem(relative)}" filter; rename it`,
        );
        continue;
      }
      const other = userFiles.get(relative);
      if (other !== undefined && other !== local) {
        problems.push(
          `${at}: ${local} and ${other} would both be shipped as filter.d/${relative}; rename one`,
        );
        continue;
      }
      userFiles.set(relative, local);
    }
    return { lambdaSpec };
  });
  return { bundle: { userFiles, problems }, plans };
}
