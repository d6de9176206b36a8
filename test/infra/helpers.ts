/**
 * Shared helpers of the infrastructure tests: the example configuration from cdk.json, app
 * construction in a temporary outdir, and whether the handler entry files exist yet.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { HANDLER_ENTRIES, PROJECT_ROOT } from '../../lib/cloudjail.js';
import { CONFIG_CONTEXT_KEY } from '../../lib/outputs.js';

/** The handler entry files the stack bundles (written by other parts of the project). */
export const missingHandlers = Object.values(HANDLER_ENTRIES).filter(
  (entry) => !existsSync(join(PROJECT_ROOT, entry)),
);

/** The repo's cdk.json `cloudjail` context: the example every fresh clone synthesizes. */
export function exampleConfig(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return structuredClone(cdkJson.context[CONFIG_CONTEXT_KEY]) as Record<string, unknown>;
}

const outdirs: string[] = [];

/** A CDK app writing into its own temporary directory; `bundle: false` skips esbuild. */
export function testApp(bundle = true): App {
  const outdir = mkdtempSync(join(tmpdir(), 'cloudjail-cdk-'));
  outdirs.push(outdir);
  return new App({
    outdir,
    context: bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
  });
}

export function cleanupApps(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
