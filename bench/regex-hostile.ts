/**
 * `npm run bench:regex-hostile`: what a hostile line costs the filter engine. The failregex
 * `^(?:\w+\s?)+ from <HOST>$` (issue 12) on lines that almost match, without V8's linear-time
 * fallback (a child process: lengths up to 32 characters, it doubles per character) and with it
 * (as the detector and the CLI run: up to a 256 KB line, the CloudWatch event maximum), and the
 * built-in filters on 64 KB hostile lines.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { loadBuiltinOrFileFilter } from '../lambda/adapters/filter-files.js';
import { type Filter, loadFilter } from '../lambda/core/filters/index.js';

const REGEX = '^(?:\\w+\\s?)+ from <HOST>$';
const FILE = '/bench/hostile.conf';

function hostileFilter(): Filter {
  return loadFilter('hostile', {
    filterDir: '/bench',
    files: { read: (p) => (p === FILE ? `[Definition]\nfailregex = ${REGEX}\n` : undefined) },
  });
}

/** Milliseconds one line costs (best of `runs`). */
function cost(filter: Filter, line: string, runs = 3): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const matcher = filter.createMatcher();
    const t = performance.now();
    matcher.matchEvent(line, { now: 0 });
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

const hostile = (chars: number) => `${'a'.repeat(Math.max(1, chars - 7))} from !`;
const words = (chars: number) => `${'ab '.repeat(Math.ceil((chars - 7) / 3))} from !`;

if (process.argv[2] === '--no-fallback') {
  // No filter adapter here: the fallback stays off in this process.
  const filter = hostileFilter();
  cost(filter, 'warm-up from 192.0.2.1', 1);
  for (const n of [24, 26, 28, 30, 32]) {
    console.log(`| ${REGEX} | ${n} chars | off | ${cost(filter, hostile(n), 1).toFixed(1)} |`);
  }
} else {
  console.log(
    `${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, ${new Date().toISOString()}\n`,
  );
  console.log('| regex | line | fallback | ms |');
  console.log('|---|---|---|---:|');
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, import.meta.filename, '--no-fallback'],
    {
      encoding: 'utf8',
    },
  );
  process.stdout.write(child.stdout);
  // Loading a filter through the adapter turns the fallback on, as in the detector and the CLI.
  const fs = loadBuiltinOrFileFilter('freeswitch[mode=extra]');
  const ast = loadBuiltinOrFileFilter('asterisk');
  const filter = hostileFilter();
  for (const n of [36, 1024, 64 * 1024, 256 * 1024]) {
    console.log(`| ${REGEX} | ${n} chars | on | ${cost(filter, words(n)).toFixed(1)} |`);
  }
  const fsLine = `2024-04-09 17:05:44.918273 97.44% [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'internal' for [${'a] from ip 198.51.100.7 '.repeat(2700)}`;
  const astLine = `[2024-04-09 17:10:01] NOTICE[5120] chan_sip.c: Registration from '${"x' failed for '198.51.100.7:5060' - ".repeat(1800)}`;
  console.log(
    `| built-in freeswitch | ${fsLine.length} chars | on | ${cost(fs, fsLine).toFixed(1)} |`,
  );
  console.log(
    `| built-in asterisk | ${astLine.length} chars | on | ${cost(ast, astLine).toFixed(1)} |`,
  );
}
