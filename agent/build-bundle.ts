/**
 * Builds the stand-alone agent: one ES module with every dependency inside (AWS SDK S3 client,
 * commander, ipaddr.js), no node_modules, for Node.js >= 20 (the AWS SDK for JavaScript v3's
 * supported range today; it drops Node 20 in January 2027, so the target moves to node22 then).
 * Used by `npm run build:agent` (→ dist/cloudjail-agent.mjs), by the CDK construct at synth
 * (lib/agent-fleet.ts: an S3 asset) and by the namespace test, which runs the bundle itself.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
// esbuild is loaded only when a bundle is built: a CDK app with agents disabled never needs it.
import type { BuildOptions } from 'esbuild';

export const ROOT = resolve(import.meta.dirname, '..');
export const DEFAULT_BUNDLE = join(ROOT, 'dist', 'cloudjail-agent.mjs');
/** Oldest Node.js the bundle runs on. */
export const AGENT_NODE_TARGET = 'node20';

function options(outfile: string): BuildOptions & { metafile: true } {
  mkdirSync(dirname(outfile), { recursive: true });
  return {
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'agent', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: AGENT_NODE_TARGET,
    minify: true,
    legalComments: 'eof',
    metafile: true,
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as cloudjailRequire } from 'node:module'; const require = cloudjailRequire(import.meta.url);",
    },
    logLevel: 'silent',
  };
}

export async function buildAgentBundle(
  outfile = DEFAULT_BUNDLE,
): Promise<{ outfile: string; bytes: number }> {
  const { build } = await import('esbuild');
  const result = await build(options(outfile));
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { outfile, bytes };
}

/** The same, synchronously (CDK constructs build their assets at synth, synchronously). */
export function buildAgentBundleSync(outfile: string): void {
  const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  buildSync(options(outfile));
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const out = await buildAgentBundle(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_BUNDLE);
  process.stdout.write(`${out.outfile} (${Math.round(out.bytes / 1024)} KiB)\n`);
}
