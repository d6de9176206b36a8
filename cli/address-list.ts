/**
 * Many addresses for one `ban`/`unban` (`--file LIST`, `-` for stdin): one address or CIDR per line
 * (or several separated by spaces or commas), `#` comments and blank lines skipped. Every entry is
 * checked before anything is written; a bad one is named with its line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Cidr } from '../lambda/core/ip-address.js';
import { CliError } from './exit-codes.js';
import { cidrArgument } from './input.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readAddressList(path: string): Promise<Cidr[]> {
  let text: string;
  if (path === '-') text = await readStdin();
  else {
    if (!existsSync(path)) throw new CliError(`--file: ${path} does not exist`);
    if (statSync(path).isDirectory()) throw new CliError(`--file: ${path} is a directory`);
    text = readFileSync(path, 'utf8');
  }
  const where = path === '-' ? 'stdin' : path;
  const seen = new Set<string>();
  const out: Cidr[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    for (const item of line.split(/[\s,]+/).filter((s) => s !== '')) {
      const cidr = cidrArgument(item, `${where}:${i + 1}`);
      if (!seen.has(cidr.text)) {
        seen.add(cidr.text);
        out.push(cidr);
      }
    }
  });
  if (out.length === 0) throw new CliError(`--file: no address in ${where}`);
  return out;
}
