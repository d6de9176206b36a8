/**
 * Errors a new operator trips over (issue 15, items 9, 10a, 11, 13): every configuration problem at
 * once with local paths, `local` with an impossible state file, unknown filter modes, and the
 * messages and exit codes of the everyday commands.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planFilterBundle } from '../../lib/filter-bundle.js';
import { CLI, cloudjail, ROOT, tempDir } from './cli-process.js';

const tmp = tempDir('operator');

function writeJson(name: string, value: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

const TARGETS = [{ naclId: 'acl-0c10d0a1b2c3d4e5f' }];

describe('configuration problems (item 9)', { timeout: 180_000 }, () => {
  it('replay reports every problem at once, filters included, naming the jail and local paths', async () => {
    const config = writeJson('bad.json', {
      jails: [
        { name: 'pbx', filter: 'asterix', logGroups: ['/x'], findtime: '10x' },
        { name: 'sbc', filter: 'freeswitch[mode=bogus]', logGroups: ['/y'] },
      ],
      targets: TARGETS,
    });
    const r = await cloudjail(['replay', 'samples/freeswitch.log', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('3 problems');
    expect(r.stderr).toMatch(/jails\[0\]\.findtime: "10x" is not a duration/);
    expect(r.stderr).toMatch(
      new RegExp(
        `jails\\[0\\]\\.filter \\(jail "pbx"\\): unknown filter 'asterix' \\(no ${ROOT}/filter\\.d/asterix\\.conf\\)`,
      ),
    );
    expect(r.stderr).toMatch(
      /jails\[1\]\.filter \(jail "sbc"\): .*unknown mode bogus \(normal, ddos, extra\)/,
    );
    expect(r.stderr).not.toContain('/var/task');
  });

  it('synth: an unknown built-in filter is reported with the path on this machine', () => {
    const { bundle } = planFilterBundle(
      ['asterix'],
      '/var/task/filter.d',
      join(ROOT, 'filter.d'),
      ROOT,
    );
    expect(bundle.problems).toEqual([
      `jails[0].filter: unknown filter 'asterix' (no ${ROOT}/filter.d/asterix.conf)`,
    ]);
  });
});

describe('filter modes (item 11)', { timeout: 180_000 }, () => {
  it('freeswitch[mode=bogus]: "unknown mode bogus (normal, ddos, extra)"', async () => {
    const r = await cloudjail(['regex', 'samples/freeswitch.log', 'freeswitch[mode=bogus]']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown mode bogus \(normal, ddos, extra\)/);
  });
});

describe('cloudjail local --state in a missing directory (item 10a)', { timeout: 180_000 }, () => {
  it('exits 2 at once with a clear error (no hang, no open ports)', async () => {
    const state = join(tmp, 'no-such-dir', 's.json');
    const child = spawn(process.execPath, [CLI, 'local', '--state', state], {
      cwd: ROOT,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((done) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done(-1);
      }, 45_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        done(c);
      });
    });
    expect(code).toBe(2);
    expect(err).toContain(`--state: directory ${join(tmp, 'no-such-dir')} does not exist`);
  }, 60_000);

  it('a file where the directory should be: said so', async () => {
    mkdirSync(join(tmp, 'd'), { recursive: true });
    writeFileSync(join(tmp, 'd', 'file'), '');
    const r = await cloudjail(['local', '--state', join(tmp, 'd', 'file', 's.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a directory');
  });
});
