/**
 * Filter specs as fail2ban writes them in a jail: `name[key=value, key2="v, x", key3='y']`.
 */
import { FilterError } from '../errors.js';

export interface FilterSpec {
  /** Bare filter name (`freeswitch`) or a path (`/etc/fail2ban/filter.d/sshd.conf`). */
  readonly name: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `name[k=v, ...]`. @throws FilterError naming the bad part. */
export function parseFilterSpec(spec: string): FilterSpec {
  const text = spec.trim();
  const open = text.indexOf('[');
  if (open < 0) {
    if (text === '') throw new FilterError('empty filter spec');
    return { name: text, params: {} };
  }
  if (!text.endsWith(']')) {
    throw new FilterError(`filter spec ${JSON.stringify(spec)}: missing closing ']'`);
  }
  const name = text.slice(0, open).trim();
  if (name === '') throw new FilterError(`filter spec ${JSON.stringify(spec)}: missing name`);
  const body = text.slice(open + 1, -1);
  const params: Record<string, string> = {};
  let i = 0;
  const bad = (why: string): never => {
    throw new FilterError(`filter spec ${JSON.stringify(spec)}: ${why} at parameter ${i + 1}`);
  };
  let rest = body;
  while (rest.trim() !== '') {
    const m = /^\s*([\w.-]+)\s*=\s*/.exec(rest);
    if (!m) bad('expected key=value');
    const key = (m?.[1] ?? '').toLowerCase();
    rest = rest.slice(m?.[0].length ?? 0);
    let value: string;
    const q = rest[0];
    if (q === '"' || q === "'") {
      const end = rest.indexOf(q, 1);
      if (end < 0) bad(`unterminated ${q}-quoted value`);
      value = rest.slice(1, end);
      rest = rest.slice(end + 1);
    } else {
      const vm = /^[^,\]]*/.exec(rest);
      value = (vm?.[0] ?? '').trim();
      rest = rest.slice(vm?.[0].length ?? 0);
    }
    params[key] = value;
    rest = rest.replace(/^\s*/, '');
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (rest.trim() !== '') bad('expected , between parameters');
    i++;
  }
  return { name, params };
}
