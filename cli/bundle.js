// Bundles of cloudjail's own TypeScript, made with esbuild on first use and cached in
// node_modules/.cache/cloudjail/, made again whenever one of their source files changes (size or
// modification time). Plain JavaScript: the launcher (cli/cloudjail.js) imports it before any
// TypeScript can run.
//
// Why: tsx transpiles every module at each start (through loader hooks on a worker thread) and
// keeps function names by wrapping every function and closure creation in a `__name()` call, which
// costs hot loops that create closures (a log matcher per delivery) a fifth of their time. A bundle
// starts in a third of the time and runs the code as the Lambda bundles do.
import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'cloudjail');
/** Bumped when the way bundles are made changes. */
const BUNDLE_FORMAT = 3;
/** Builds of a bundle older than this, and not the current one, are removed. */
const STALE_MS = 60 * 60 * 1000;

/** Whether every input recorded in `meta` still has the recorded size and mtime. */
function fresh(meta) {
  try {
    if (meta.format !== BUNDLE_FORMAT) return false;
    for (const [file, [size, mtimeMs]] of Object.entries(meta.inputs)) {
      const s = statSync(file);
      if (s.size !== size || s.mtimeMs !== mtimeMs) return false;
    }
    statSync(join(CACHE, meta.dir, meta.main));
    return true;
  } catch {
    return false;
  }
}

function readMeta(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Writes `data` to `file` atomically (concurrent first runs each rename a whole file). */
function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/**
 * esbuild plugin: `import.meta.url`, `.dirname` and `.filename` keep naming each source file (the
 * built-in filters are found relative to their module), not the bundle.
 */
const sourceImportMeta = {
  name: 'source-import-meta',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const contents = text
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.filename', JSON.stringify(args.path));
      return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
    });
  },
};

/** Removes earlier builds of `name` (an hour old: a running process may still load its chunks). */
function prune(name, keep) {
  const now = Date.now();
  for (const entry of readdirSync(CACHE)) {
    if (!entry.startsWith(`${name}-`) || entry === keep) continue;
    try {
      const path = join(CACHE, entry);
      if (now - statSync(path).mtimeMs > STALE_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another process pruned it first.
    }
  }
}

async function build(name, entry, packages) {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { [name]: entry },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: join(CACHE, 'out'),
    outExtension: { '.js': '.mjs' },
    // Modules imported on demand become chunks loaded on demand.
    splitting: true,
    ...(packages === 'bundle'
      ? {
          // Packages bundled too (commander, ipaddr.js): importing CommonJS from ES modules makes
          // Node lex each package's source for its export names at every start.
          banner: {
            js: "import { createRequire as cloudjailRequire } from 'node:module'; const require = cloudjailRequire(import.meta.url);",
          },
        }
      : // Packages stay imports (the AWS SDK, dynalite and its native store load as installed).
        { packages: 'external' }),
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [sourceImportMeta],
  });
  const hash = createHash('sha256');
  for (const f of result.outputFiles) hash.update(f.path).update(f.contents);
  const dir = `${name}-${hash.digest('hex').slice(0, 16)}`;
  const final = join(CACHE, dir);
  mkdirSync(CACHE, { recursive: true });
  try {
    statSync(final);
  } catch {
    // Written whole into a temporary directory, then renamed: a concurrent run sees all or none.
    const tmp = join(CACHE, `tmp-${dir}-${process.pid}`);
    for (const f of result.outputFiles) {
      const target = join(tmp, relative(join(CACHE, 'out'), f.path));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.contents);
    }
    try {
      renameSync(tmp, final);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
      statSync(final); // Throws unless another run renamed the same build there first.
    }
  }
  const inputs = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = resolve(ROOT, input);
    const s = statSync(file);
    inputs[file] = [s.size, s.mtimeMs];
  }
  const meta = { format: BUNDLE_FORMAT, entry, dir, main: `${name}.mjs`, inputs };
  writeAtomic(join(CACHE, `${name}.json`), JSON.stringify(meta));
  prune(name, dir);
  return meta;
}

/**
 * The module `entry` (relative to the package root) from its bundle `name`, made if stale, and the
 * bundle's URL (worker threads can run it).
 * @param packages 'bundle': packages go into the one output file; 'external': they stay imports.
 */
export async function bundled(name, entry, packages = 'external') {
  let meta = readMeta(join(CACHE, `${name}.json`));
  if (!meta || meta.entry !== entry || !fresh(meta)) meta = await build(name, entry, packages);
  const url = pathToFileURL(join(CACHE, meta.dir, meta.main)).href;
  return { module: await import(url), url };
}
