#!/usr/bin/env node
// Entry point of the `cloudjail` command. The CLI is written in TypeScript; no build step sits
// between `npm ci` and a working command.
//
// It runs from an esbuild bundle of its own modules (cli/bundle.js: made on first use in
// node_modules/.cache/cloudjail/, made again whenever one of its source files changes). Packages
// stay ordinary imports. `cloudjail regex` (cloudjail's fail2ban-regex, benchmarked against it)
// has a bundle of its own with its packages inside, which starts faster still; the worker threads
// it may match a large log with run that bundle too. If a bundle cannot be made or loaded, the
// command runs its TypeScript through tsx's loader instead.
import { bundled } from './bundle.js';

/** The bundle to run, or undefined when it cannot be made or loaded (then tsx runs the source). */
async function load() {
  try {
    // `regex --log-group` reads CloudWatch Logs: the full CLI (the regex bundle has no AWS SDK).
    if (process.argv[2] === 'regex' && !process.argv.some((a) => a.startsWith('--log-group'))) {
      const regex = await bundled('regex', 'cli/commands/regex.ts', 'bundle');
      return (argv) => regex.module.main(argv, { moduleUrl: regex.url });
    }
    const cli = await bundled('cli', 'cli/main.ts', 'external');
    return (argv) => cli.module.main(argv);
  } catch {
    return undefined;
  }
}

let main = await load();
if (!main) {
  const { register } = await import('tsx/esm/api');
  register();
  main = (await import('./main.ts')).main;
}
process.exitCode = await main(process.argv);
