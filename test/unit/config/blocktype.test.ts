import { describe, expect, it } from 'vitest';
import { parseJails } from '../../../lambda/config/jail-config.js';

describe('jails[].blocktype (how the host tier drops a banned source)', () => {
  it('defaults to drop', () => {
    const { value, problems } = parseJails([{ name: 'fs' }]);
    expect(problems).toEqual([]);
    expect(value?.[0]?.blocktype).toBe('drop');
  });

  it('reads drop and reject, case-insensitively as fail2ban writes DROP/REJECT', () => {
    const { value, problems } = parseJails([
      { name: 'a', blocktype: 'reject' },
      { name: 'b', blocktype: 'DROP' },
    ]);
    expect(problems).toEqual([]);
    expect(value?.map((j) => j.blocktype)).toEqual(['reject', 'drop']);
  });

  it('names the jail and the value it refuses', () => {
    const { value, problems } = parseJails([{ name: 'a' }, { name: 'b', blocktype: 'tarpit' }]);
    expect(value).toBeUndefined();
    expect(problems).toEqual([
      'jails[1].blocktype: "tarpit" must be "drop" (default: silently) or "reject" (ICMP port-unreachable / TCP reset)',
    ]);
  });
});
