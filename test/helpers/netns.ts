/**
 * Network-namespace fixtures for the host-agent tests: two namespaces joined by a veth pair, with
 * documentation-range addresses only and no route anywhere else, created and deleted by the test
 * (names unique per run: process.pid). Plus a line-oriented child process wrapper.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BanList, PublishedBan } from '../../lambda/core/ban-list/schema.js';
import { SIP_DENY } from '../../lambda/core/deny-spec.js';

export interface Capability {
  readonly ok: boolean;
  readonly reason: string;
}

function has(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Root with `ip netns` and `nft`: what the namespace tests need. */
export function netnsCapability(): Capability {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root' };
  if (!has('ip', ['-V'])) return { ok: false, reason: 'no ip (iproute2)' };
  if (!has('nft', ['--version'])) return { ok: false, reason: 'no nft (nftables)' };
  return { ok: true, reason: '' };
}

/** Skip when the capability is missing, except that CLOUDJAIL_REQUIRE_NETNS=1 (CI) makes it fail. */
export function requireNetns(): boolean {
  const cap = netnsCapability();
  if (!cap.ok && process.env.CLOUDJAIL_REQUIRE_NETNS === '1') {
    throw new Error(`CLOUDJAIL_REQUIRE_NETNS=1 but the namespace tests cannot run: ${cap.reason}`);
  }
  return cap.ok;
}

export function sh(args: readonly string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
}

export function inNs(ns: string, args: readonly string[]): string {
  return sh(['ip', 'netns', 'exec', ns, ...args]);
}

export interface Topology {
  readonly sbc: string;
  readonly attacker: string;
  destroy(): void;
}

/**
 * SBC namespace: 192.0.2.1/24 and 2001:db8:1::1/64 on its veth end, a route to 198.51.100.0/24
 * over the veth (the attacker's second addresses). Attacker namespace: 192.0.2.2/24,
 * 198.51.100.9/32, 198.51.100.10/32 and 2001:db8:1::2/64.
 */
export function createTopology(tag: string): Topology {
  const id = `${tag}${process.pid}`;
  const sbc = `cj-sbc-${id}`;
  const attacker = `cj-atk-${id}`;
  const vs = `cjs${process.pid}`.slice(0, 15);
  const va = `cja${process.pid}`.slice(0, 15);
  const destroy = () => {
    for (const ns of [sbc, attacker]) {
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {}
    }
  };
  try {
    sh(['ip', 'netns', 'add', sbc]);
    sh(['ip', 'netns', 'add', attacker]);
    sh([
      'ip',
      'link',
      'add',
      vs,
      'netns',
      sbc,
      'type',
      'veth',
      'peer',
      'name',
      va,
      'netns',
      attacker,
    ]);
    inNs(sbc, ['ip', 'link', 'set', 'lo', 'up']);
    inNs(attacker, ['ip', 'link', 'set', 'lo', 'up']);
    inNs(sbc, ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', vs]);
    inNs(sbc, ['ip', '-6', 'addr', 'add', '2001:db8:1::1/64', 'dev', vs, 'nodad']);
    inNs(sbc, ['ip', 'link', 'set', vs, 'up']);
    inNs(sbc, ['ip', 'route', 'add', '198.51.100.0/24', 'dev', vs]);
    inNs(attacker, ['ip', 'addr', 'add', '192.0.2.2/24', 'dev', va]);
    inNs(attacker, ['ip', 'addr', 'add', '198.51.100.9/32', 'dev', va]);
    inNs(attacker, ['ip', 'addr', 'add', '198.51.100.10/32', 'dev', va]);
    inNs(attacker, ['ip', '-6', 'addr', 'add', '2001:db8:1::2/64', 'dev', va, 'nodad']);
    inNs(attacker, ['ip', 'link', 'set', va, 'up']);
  } catch (e) {
    destroy();
    throw e;
  }
  return { sbc, attacker, destroy };
}

/** A child process read line by line. */
export class LineProcess {
  readonly lines: string[] = [];
  readonly errLines: string[] = [];
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];
  exitCode: number | null | undefined;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(args[0]!, args.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env });
    const collect = (into: string[]) => {
      let rest = '';
      return (chunk: Buffer) => {
        const parts = (rest + chunk.toString('utf8')).split('\n');
        rest = parts.pop() ?? '';
        into.push(...parts);
        for (const w of this.waiters.splice(0)) w();
      };
    };
    this.child.stdout?.on('data', collect(this.lines));
    this.child.stderr?.on('data', collect(this.errLines));
    this.child.on('exit', (code) => {
      this.exitCode = code;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** Resolves with the first line (stdout, or stderr with `stderr`) from index `from` matching. */
  async waitFor(
    match: (line: string) => boolean,
    timeoutMs: number,
    options: { from?: number; stderr?: boolean } = {},
  ): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    const source = options.stderr ? this.errLines : this.lines;
    for (;;) {
      const found = source.slice(options.from ?? 0).find(match);
      if (found !== undefined) return found;
      if (this.exitCode !== undefined)
        throw new Error(
          `process exited (${this.exitCode}) before the line; stderr: ${this.errLines.join(' | ')}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out; stdout: ${this.lines.slice(-5).join(' | ')}; stderr: ${this.errLines.slice(-5).join(' | ')}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin?.end();
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    return this.exitCode ?? null;
  }
}

/** A local S3 API (test/helpers/netns-s3.ts) running inside a namespace, driven over stdin. */
export interface NetnsS3 {
  readonly proc: LineProcess;
  readonly endpoint: string;
  readonly bucket: string;
  /** One command (`{op: 'put' | 'get', key, body?}`) and its answer line. */
  command(
    cmd: object,
    timeoutMs?: number,
  ): Promise<{ ok: boolean; etag?: string; body?: string; error?: string }>;
}

export async function startNetnsS3(ns: string): Promise<NetnsS3> {
  const proc = new LineProcess([
    'ip',
    'netns',
    'exec',
    ns,
    process.execPath,
    '--import',
    'tsx',
    join(import.meta.dirname, 'netns-s3.ts'),
  ]);
  const { endpoint, bucket } = JSON.parse(await proc.waitFor((l) => l.startsWith('{'), 30_000));
  return {
    proc,
    endpoint,
    bucket,
    async command(cmd, timeoutMs = 15_000) {
      const from = proc.lines.length;
      proc.send(JSON.stringify(cmd));
      return JSON.parse(await proc.waitFor(() => true, timeoutMs, { from }));
    },
  };
}

/** The ban list the agent tests and bench publish: one freeswitch group, one allowlisted host. */
export function agentBanList(serial: number, bans: PublishedBan[]): BanList {
  return {
    schema: 'cloudjail.ban-list',
    schemaVersion: 1,
    serial,
    generatedAt: Date.now(),
    allowlist: [{ cidr: '198.51.100.9/32', jails: null }],
    groups: [{ jails: ['freeswitch'], deny: SIP_DENY, verdict: 'drop', bans }],
  };
}
