/**
 * Nftables on the `nft` command: `nft -f -` (the script on stdin, one transaction) and
 * `nft -j list`. Only table inet cloudjail is ever named.
 */
import { spawn } from 'node:child_process';
import { TABLE_FAMILY, TABLE_NAME } from '../nft-plan.js';
import type { Nftables, TableSummary } from '../ports.js';

function run(
  command: readonly string[],
  args: readonly string[],
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const [bin, ...pre] = command;
    const child = spawn(bin!, [...pre, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

interface NftJsonSet {
  set?: { name: string; table: string; family: string; elem?: unknown[] };
  rule?: { table: string; family: string; expr?: { counter?: { packets: number } }[] };
}

export class NftCommand implements Nftables {
  /** `command`: how to run nft (default `['nft']`). */
  constructor(private readonly command: readonly string[] = ['nft']) {}

  async apply(script: string): Promise<void> {
    const r = await run(this.command, ['-f', '-'], script);
    if (r.code !== 0) {
      const lines = r.stderr.trim().split('\n');
      throw new Error(`nft exited with ${r.code}: ${lines.slice(0, 6).join(' | ').slice(0, 800)}`);
    }
  }

  async tableExists(): Promise<boolean> {
    const r = await run(this.command, ['list', 'tables', TABLE_FAMILY]);
    if (r.code !== 0) throw new Error(`nft list tables failed: ${r.stderr.trim()}`);
    return r.stdout.split('\n').some((l) => l.trim() === `table ${TABLE_FAMILY} ${TABLE_NAME}`);
  }

  async summary(): Promise<TableSummary | undefined> {
    if (!(await this.tableExists())) return undefined;
    const r = await run(this.command, ['-j', 'list', 'table', TABLE_FAMILY, TABLE_NAME]);
    if (r.code !== 0) throw new Error(`nft list table failed: ${r.stderr.trim()}`);
    const items = (JSON.parse(r.stdout) as { nftables: NftJsonSet[] }).nftables;
    const sets: { name: string; elements: number }[] = [];
    let packetsDenied = 0;
    for (const item of items) {
      if (item.set) sets.push({ name: item.set.name, elements: item.set.elem?.length ?? 0 });
      for (const e of item.rule?.expr ?? []) packetsDenied += e.counter?.packets ?? 0;
    }
    return { sets, packetsDenied };
  }
}
