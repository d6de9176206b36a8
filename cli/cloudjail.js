#!/usr/bin/env node
// Entry point of the `cloudjail` command. The CLI is written in TypeScript and runs through tsx's
// loader, so no build step sits between `npm ci` and a working command.
//
// `cloudjail regex` (cloudjail's fail2ban-regex, benchmarked against it) starts faster: it runs
// from an esbuild bundle of its own modules (cli/commands/regex.ts and all it imports), made on
// first use in node_modules/.cache/cloudjail/ and made again whenever one of those files changes
// (size or modification time). tsx transpiles every module at each start, through loader hooks on
// a worker thread, and loads every other command too. If the bundle cannot be made or loaded,
// `regex` runs through tsx like every other command. The worker threads `regex` may match a large
// log with run the same bundle: it is told its own URL (the plugin below makes `import.meta.url`
// name each source file instead).
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CACHE = join(ROOT, 'node_modules', '.cache', 'cloudjail');
/** Bumped when the way bundles are made changes. */
const BUNDLE_FORMAT = 2;

/** Whether every input recorded in `metaFile` still has the recorded size and mtime. */
function fresh(metaFile) {
  try {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    if (meta.format !== BUNDLE_FORMAT) return false;
    for (const [file, [size, mtimeMs]] of Object.entries(meta.inputs)) {
      const s = statSync(file);
      if (s.size !== size || s.mtimeMs !== mtimeMs) return false;
    }
    return true;
  } catch {
    return false;
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

/** The module `entry` (relative to the package root) from its bundle, made if stale, and its URL. */
async function bundled(name, entry) {
  const out = join(CACHE, `${name}.mjs`);
  const metaFile = join(CACHE, `${name}.json`);
  if (!fresh(metaFile)) {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Packages are bundled too (commander, ipaddr.js): importing CommonJS from ES modules makes
      // Node lex each package's source for its export names at every start.
      banner: {
        js: "import { createRequire as cloudjailRequire } from 'node:module'; const require = cloudjailRequire(import.meta.url);",
      },
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [sourceImportMeta],
    });
    const inputs = {};
    for (const input of Object.keys(result.metafile.inputs)) {
      const file = resolve(ROOT, input);
      const s = statSync(file);
      inputs[file] = [s.size, s.mtimeMs];
    }
    mkdirSync(CACHE, { recursive: true });
    writeAtomic(out, result.outputFiles[0].contents);
    writeAtomic(metaFile, JSON.stringify({ format: BUNDLE_FORMAT, entry, inputs }));
  }
  const url = pathToFileURL(out).href;
  return { module: await import(url), url };
}

let regex;
// `regex --log-group` reads CloudWatch Logs: it runs through tsx (the bundle has no AWS SDK).
if (process.argv[2] === 'regex' && !process.argv.some((a) => a.startsWith('--log-group'))) {
  try {
    regex = await bundled('regex', 'cli/commands/regex.ts');
  } catch {
    regex = undefined;
  }
}
if (regex) {
  process.exitCode = await regex.module.main(process.argv, { moduleUrl: regex.url });
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('./main.ts');
  process.exitCode = await main(process.argv);
}
