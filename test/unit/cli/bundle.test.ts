/**
 * cli/bundle.js, how the `cloudjail` command (and bench:replay) run cloudjail's TypeScript: an
 * esbuild bundle made on first use, reused while its sources are unchanged, made again when one
 * changes; concurrent first runs agree; no `__name` wrappers (tsx's keepNames) in hot code.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bundled, ROOT } from '../../../cli/bundle.js';

const CACHE = join(ROOT, 'node_modules', '.cache', 'cloudjail');
const id = randomUUID().slice(0, 8);
// Outside node_modules: the bundler treats files there as packages.
const dir = join(ROOT, `.bundle-test-${id}`);
const entry = join(dir, 'entry.ts');
const helper = join(dir, 'helper.ts');
const names: string[] = [];

function write(value: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    helper,
    `export const make = (n: number) => () => n * ${value};\nexport const here: string = import.meta.url;\n`,
  );
  writeFileSync(
    entry,
    `import { here, make } from './helper.js';\nexport const value = make(1)();\nexport { here };\n`,
  );
}

function name(): string {
  const n = `test-${id}-${names.length}`;
  names.push(n);
  return n;
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const f of readdirSync(CACHE)) {
    if (names.some((n) => f === `${n}.json` || f.startsWith(`${n}-`))) {
      rmSync(join(CACHE, f), { recursive: true, force: true });
    }
  }
});

describe('cli/bundle.js', () => {
  it('builds a bundle, reuses it unchanged, builds it again when a source changes', async () => {
    write(2);
    const n = name();
    const first = await bundled(n, relative(ROOT, entry));
    expect(first.module.value).toBe(2);
    const again = await bundled(n, relative(ROOT, entry));
    expect(again.url).toBe(first.url);
    write(30); // the helper, not the entry, changes
    const changed = await bundled(n, relative(ROOT, entry));
    expect(changed.url).not.toBe(first.url);
    expect(changed.module.value).toBe(30);
  });

  it('keeps import.meta.url naming the source file, and has no __name wrappers', async () => {
    write(3);
    const built = await bundled(name(), relative(ROOT, entry));
    expect(built.module.here).toBe(`file://${helper}`);
    expect(readFileSync(fileURLToPath(built.url), 'utf8')).not.toMatch(/__name\(/);
  });

  it('concurrent first runs agree on one complete build', async () => {
    write(4);
    const n = name();
    const runs = await Promise.all([1, 2, 3].map(() => bundled(n, relative(ROOT, entry))));
    expect(new Set(runs.map((r) => r.url)).size).toBe(1);
    expect(runs.map((r) => r.module.value)).toEqual([4, 4, 4]);
    expect(readdirSync(CACHE).filter((f) => f.startsWith('tmp-') && f.includes(n))).toEqual([]);
  });

  it('the cloudjail command runs from its bundle', async () => {
    const { spawnSync } = await import('node:child_process');
    const out = spawnSync(process.execPath, [join(ROOT, 'cli/cloudjail.js'), '--version'], {
      encoding: 'utf8',
    });
    expect(out.status).toBe(0);
    const meta = JSON.parse(readFileSync(join(CACHE, 'cli.json'), 'utf8')) as {
      entry: string;
      dir: string;
    };
    expect(meta.entry).toBe('cli/main.ts');
    expect(readdirSync(join(CACHE, meta.dir))).toContain('cli.mjs');
  });
});
