/**
 * A user's `freeswitch.local` (or `freeswitch.d/*.conf`) beside their configuration extends the
 * built-in freeswitch filter (lambda/core/filters/extension.ts), as it will in the detector's
 * package (the Lambda filter directory with the extension shipped in `extend-<n>/`).
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_FILTER_DIR,
  loadBuiltinOrFileFilter,
} from '../../../lambda/adapters/filter-files.js';
import type { Filter } from '../../../lambda/core/filters/index.js';

const NOW = Date.UTC(2024, 10, 5, 12);
const CDR = '"FAIL2BAN_HOST=198.51.100.31","2024-11-05 10:00:01","1001"';
const FS = `2024-11-05 10:00:00.123456 98.10% [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'external' for [1001@pbx.example.net] from ip 203.0.113.9`;
const LOCAL = `[Definition]
content_start = %(known/content_start)s|"FAIL2BAN_HOST=
failregex = %(known/failregex)s
            ^\\"FAIL2BAN_HOST=<HOST>\\"
`;

function hosts(filter: Filter, line: string): string[] {
  return filter
    .createMatcher()
    .matchEvent(line, { now: NOW, timestamp: NOW })
    .flatMap((o) => o.failures.map((f) => f.host));
}

function userDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cloudjail-ext-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('extending a built-in with a .local beside the configuration', () => {
  it('adds the failregexes and keeps the built-in ones', () => {
    const dir = userDir({ 'filter.d/freeswitch.local': LOCAL });
    const filter = loadBuiltinOrFileFilter(`${dir}/filter.d/freeswitch.local[mode=normal]`);
    expect(filter.failregex).toHaveLength(3);
    expect(hosts(filter, CDR)).toEqual(['198.51.100.31']);
    expect(hosts(filter, FS)).toEqual(['203.0.113.9']);
    // The built-in alone is unchanged.
    expect(hosts(loadBuiltinOrFileFilter('freeswitch'), CDR)).toEqual([]);
  });

  it('reads freeswitch.d/*.conf too, and ignores a fail2ban freeswitch.conf beside the .local', () => {
    const dir = userDir({
      'filter.d/freeswitch.conf': '[Definition]\nfailregex = ^never <HOST>$\n',
      'filter.d/freeswitch.d/cdr.conf': LOCAL,
    });
    const filter = loadBuiltinOrFileFilter(`${dir}/filter.d/freeswitch.local`);
    expect(hosts(filter, CDR)).toEqual(['198.51.100.31']);
    expect(hosts(filter, FS)).toEqual(['203.0.113.9']);
  });

  it('works in the Lambda layout: built-ins flat, the extension in extend-<n>/', () => {
    const lambdaDir = mkdtempSync(join(tmpdir(), 'cloudjail-task-'));
    cpSync(BUILTIN_FILTER_DIR, lambdaDir, { recursive: true });
    mkdirSync(join(lambdaDir, 'extend-0'));
    writeFileSync(join(lambdaDir, 'extend-0', 'freeswitch.local'), LOCAL);
    const filter = loadBuiltinOrFileFilter(
      `${lambdaDir}/extend-0/freeswitch.local[mode=normal]`,
      undefined,
      lambdaDir,
    );
    expect(hosts(filter, CDR)).toEqual(['198.51.100.31']);
  });

  it('an injected copy of the field later on the line is never the address', () => {
    const dir = userDir({ 'filter.d/freeswitch.local': LOCAL });
    const filter = loadBuiltinOrFileFilter(`${dir}/filter.d/freeswitch.local`);
    expect(
      hosts(filter, `"FAIL2BAN_HOST=198.51.100.31","x","\\"FAIL2BAN_HOST=192.0.2.5\\""`),
    ).toEqual(['198.51.100.31']);
    expect(hosts(filter, `"1001","FAIL2BAN_HOST=192.0.2.5"`)).toEqual([]);
  });
});
