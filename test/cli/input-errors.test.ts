/**
 * Bad input, in process: the CLI's composition root (`main`) with argument lists that must fail
 * before anything is started or connected — exit code and the one stderr line. (The spawned-process
 * suites check a few of these end to end; these run in milliseconds.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function run(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const code = await main(['node', 'cloudjail', ...args]);
  return { code, stderr, stdout };
}

// Connection options that would fail loudly if anything tried to connect.
const LOCAL = ['--local', '--state', '/nonexistent/cloudjail-state.json'];

describe('bad input is rejected before any work, with one clear line', () => {
  it.each([
    [
      ['ban', 'pbx.example.com', ...LOCAL],
      2,
      /"pbx\.example\.com" is not an IP address or CIDR \(DNS names are not resolved\)/,
    ],
    [['ban', '203.0.113.9', '--for', '10x', ...LOCAL], 2, /--for: "10x" is not a duration/],
    [['ban', '203.0.113.9', '--for', '0', ...LOCAL], 2, /--for: must be longer than 0/],
    [
      ['ban', '203.0.113.9', '--for', '1h', '--permanent', ...LOCAL],
      2,
      /--for and --permanent exclude each other/,
    ],
    [['ban', '2001:db8::/16', ...LOCAL], 3, /broader than \/64 \(use --force/],
    [['unban', ...LOCAL], 2, /unban needs an address\/CIDR or --all/],
    [['unban', '203.0.113.9', '--all', ...LOCAL], 2, /either an address\/CIDR or --all, not both/],
    [
      ['ignore', 'add', '10.0.0.0/33', ...LOCAL],
      2,
      /"10\.0\.0\.0\/33" is not an IP address or CIDR/,
    ],
    [['ignore', 'del', '300.1.1.1', ...LOCAL], 2, /"300\.1\.1\.1" is not an IP address or CIDR/],
    [
      ['replay', 'samples/freeswitch.log', '--findtime', 'soon'],
      2,
      /--findtime: "soon" is not a duration/,
    ],
    [
      ['replay', 'samples/freeswitch.log', '--bantime', 'x'],
      2,
      /--bantime: "x" is not a duration .*-1/,
    ],
    [
      ['replay', 'samples/freeswitch.log', '--maxretry', '0'],
      2,
      /--maxretry: "0" must be a whole number >= 1/,
    ],
    [
      ['replay', 'samples/freeswitch.log', '--filter', 'no-such-filter'],
      2,
      /unknown filter 'no-such-filter'/,
    ],
    [
      ['replay', 'samples/freeswitch.log', '--filter', 'freeswitch[mode=normal'],
      2,
      /--filter: .*missing closing '\]'/,
    ],
    [
      ['replay', 'samples/freeswitch.log', '--jail', 'sshd'],
      4,
      /--jail: no jail "sshd" in the configuration \(jails: freeswitch, asterisk\)/,
    ],
    [['replay', 'samples'], 2, /samples is a directory, not a log file/],
    [
      ['replay', 'samples/freeswitch.log', '--config', 'nope.json'],
      2,
      /--config: nope\.json does not exist/,
    ],
    [['demo', '--jail', 'freeswitch'], 2, /--jail needs --log/],
    [['local', '--enforce-every', 'never'], 2, /--enforce-every: "never" is not a duration/],
  ])('%j → exit %i', async (args, code, message) => {
    const r = await run(args as string[]);
    expect(r.code).toBe(code);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.startsWith('cloudjail: ')).toBe(true);
    expect(r.stdout).toBe('');
  });

  it('an unknown option is bad input (commander), with the usage', async () => {
    const r = await run(['ban', '203.0.113.9', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
    expect(r.stderr).toContain('Usage: cloudjail ban');
  });

  it('--help exits 0', async () => {
    const r = await run(['status', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: cloudjail status');
    expect(r.stdout).toContain('Exit codes:');
  });
});
