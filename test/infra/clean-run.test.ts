/**
 * A clean run (issue 15, item 18): CI never ends processes by name and keeps fail2ban's service from
 * starting; cdk.json leaves no feature flag unconfigured and synth warns about the placeholder NACL
 * id; a configuration passed with -c survives the CDK CLI; the supported Node versions are explicit.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CloudjailStack } from '../../lib/cloudjail-stack.js';
import { configFromContext, PLACEHOLDER_NACL_ID } from '../../lib/context-config.js';
import { tempDir } from '../cli/cli-process.js';

const ROOT = join(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const cdkJson = JSON.parse(read('cdk.json')) as { context: Record<string, unknown> };

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    return [...((e as { problems?: string[] }).problems ?? [(e as Error).message])];
  }
  return [];
}

describe('.ci/run', () => {
  const script = read('.ci/run');
  it('never ends a process by name', () => {
    expect(script).not.toMatch(/\b(pkill|killall)\b/);
  });
  it('keeps the service from starting while apt-get installs (policy-rc.d exit 101, removed after)', () => {
    expect(script).toMatch(/policy-rc\.d/);
    expect(script).toMatch(/exit 101/);
    const install = script.indexOf('apt-get install');
    expect(script.indexOf('exit 101')).toBeLessThan(install);
    expect(script.lastIndexOf('rm -f "$POLICY"')).toBeGreaterThan(install);
    expect(script).toMatch(/fail2ban\.pid/);
  });
});

describe('cdk.json and synth', () => {
  it('no feature flag whose default differs from its recommended value is left unconfigured', () => {
    const app = new App({ context: cdkJson.context, outdir: tempDir('flags') });
    new CloudjailStack(app, 'Cloudjail', {
      config: configFromContext(cdkJson.context['cloudjail']),
      configDir: ROOT,
    });
    const assembly = app.synth();
    const report = assembly.manifest.artifacts?.['aws-cdk-lib/feature-flag-report'];
    const flags = (report?.properties as { flags: Record<string, FlagInfo> } | undefined)?.flags;
    expect(flags).toBeDefined();
    const unconfigured = Object.entries(flags ?? {})
      .filter(([name]) => !(name in cdkJson.context))
      .filter(([, f]) => (f.unconfiguredBehavesLike?.v2 ?? false) !== f.recommendedValue)
      .map(([name]) => name);
    expect(unconfigured).toEqual([]);
    // The shipped placeholder NACL id is warned about.
    const stack = Stack.of(app.node.findChild('Cloudjail'));
    const warnings = Annotations.fromStack(stack).findWarning(
      '*',
      Match.stringLikeRegexp(`${PLACEHOLDER_NACL_ID} is the placeholder id`),
    );
    expect(warnings).toHaveLength(1);
  }, 120_000);
});

interface FlagInfo {
  readonly recommendedValue?: unknown;
  readonly unconfiguredBehavesLike?: { readonly v2?: unknown };
}

describe('-c cloudjail=...', () => {
  const config = cdkJson.context['cloudjail'];
  it('@file: a multi-line JSON file', () => {
    const file = join(tempDir('ctx'), 'cloudjail.json');
    writeFileSync(file, JSON.stringify(config, null, 2));
    expect(configFromContext(`@${file}`)).toEqual(config);
  });
  it('"$(cat file.json)" (the CDK CLI keeps its first line, "{"): said plainly, with what works', () => {
    const [message] = problems(() => configFromContext('{'));
    expect(message).toMatch(/keeps the first line of a -c value/);
    expect(message).toContain('-c cloudjail=@cloudjail.json');
  });
  it('one-line JSON still works', () => {
    expect(configFromContext(JSON.stringify(config))).toEqual(config);
  });
});

describe('supported Node versions', () => {
  it('are explicit in package.json engines and the README', () => {
    const pkg = JSON.parse(read('package.json')) as { engines?: { node?: string } };
    expect(pkg.engines?.node).toBe('>=20.19');
    const readme = read('README.md');
    expect(readme).toMatch(/### Supported Node\.js versions/);
    expect(readme).toMatch(/Node\.js\s+22 or later/);
  });
  it('tests and the processes they spawn run without the AWS SDK notice', () => {
    expect(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED).toBe('true');
  });
});
