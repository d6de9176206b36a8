/**
 * The values of fail2ban jail options as `cloudjail import` reads them: booleans, filter and
 * action specs (`name[k=v, ...]`, several bracket groups), port lists with service names, and the
 * names cloudjail derives (jail names, log groups of log paths). Pure.
 */
import { FilterError } from '../errors.js';
import { parseFilterSpec } from '../filters/filter-spec.js';

/** Prefix of the log groups imported log files are shipped to. */
export const IMPORT_LOG_GROUP_PREFIX = '/cloudjail';

/** Ports of the service names jail files use (`port = ssh`, `http,https`). */
const SERVICE_PORTS: Readonly<Record<string, number>> = {
  ftp: 21,
  ssh: 22,
  smtp: 25,
  domain: 53,
  http: 80,
  pop3: 110,
  imap: 143,
  imap2: 143,
  https: 443,
  smtps: 465,
  submission: 587,
  imaps: 993,
  pop3s: 995,
  mysql: 3306,
  iax: 4569,
  iax2: 4569,
  sip: 5060,
  'sip-tls': 5061,
  sips: 5061,
};

export interface Action {
  readonly name: string;
  readonly params: Readonly<Record<string, string>>;
  readonly text: string;
}

export function isTrue(text: string): boolean | undefined {
  const v = text.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(v)) return true;
  if (['0', 'no', 'false', 'off'].includes(v)) return false;
  return undefined;
}

/**
 * Splits `name[a=1][b="x, y"]` (a `%(known/filter)s[...]` appends a second bracket group) into the
 * name and the merged parameters, later groups winning.
 * @throws FilterError on unbalanced brackets or a bad parameter.
 */
export function splitSpec(text: string): { name: string; params: Record<string, string> } {
  const trimmed = text.trim();
  const open = trimmed.indexOf('[');
  if (open < 0) return { name: trimmed, params: {} };
  const name = trimmed.slice(0, open).trim();
  const params: Record<string, string> = {};
  let i = open;
  while (i < trimmed.length) {
    if (trimmed[i] !== '[') {
      if (/\s/.test(trimmed[i] ?? '')) {
        i++;
        continue;
      }
      throw new FilterError(`${JSON.stringify(text)}: unexpected text after ']'`);
    }
    let j = i + 1;
    let quote: string | undefined;
    for (; j < trimmed.length; j++) {
      const c = trimmed[j];
      if (quote) {
        if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === ']') break;
    }
    if (j >= trimmed.length) throw new FilterError(`${JSON.stringify(text)}: missing ']'`);
    Object.assign(params, parseFilterSpec(`x${trimmed.slice(i, j + 1)}`).params);
    i = j + 1;
  }
  return { name, params };
}

/** One action line per entry: `iptables-multiport[name=x, port="5060"]`. */
export function parseActions(value: string): Action[] {
  return value
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((line) => {
      const { name, params } = splitSpec(line);
      return { name, params, text: line };
    });
}

export function isFirewallAction(name: string): 'mapped' | 'approximated' | undefined {
  if (/^(?:iptables|ip6tables|nftables|ufw)(?:[-_.].*)?$/.test(name)) return 'mapped';
  if (/^(?:firewallcmd|shorewall|route|pf|ipfw|ipset|npf|nftables|iptables)/.test(name))
    return 'approximated';
  return undefined;
}

export function isMailAction(name: string): boolean {
  return /^(?:sendmail|mail|smtp)(?:[-_.].*)?$/.test(name);
}

/** Turns a fail2ban port list (`5060,5061`, `ssh`, `10000:20000`, `0:65535`) into ours. */
export function mapPorts(text: string): { ports?: string; all: boolean; unknown: string[] } {
  const parts = text
    .split(/[\s,]+/)
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
  const out: string[] = [];
  const unknown: string[] = [];
  for (const part of parts) {
    if (part === 'all' || part === 'any') return { all: true, unknown };
    const range = /^(\d{1,5})(?:[:-](\d{1,5}))?$/.exec(part);
    if (range) {
      const from = Math.max(1, Number(range[1]));
      const to = Number(range[2] ?? range[1]);
      if (from <= 1 && to >= 65535) return { all: true, unknown };
      out.push(from === to ? String(from) : `${from}-${to}`);
      continue;
    }
    const port = SERVICE_PORTS[part];
    if (port === undefined) unknown.push(part);
    else out.push(String(port));
  }
  if (unknown.length > 0 || out.length === 0) return { all: true, unknown };
  return { ports: out.join(','), all: false, unknown };
}

/** A log group name for a log file: `/cloudjail` + the path, other characters as `_`. */
export function logGroupForPath(path: string): string {
  const body = path
    .trim()
    .replace(/[^.\-_/#A-Za-z0-9]/g, '_')
    .replace(/\/+/g, '/')
    .replace(/^\/?/, '/');
  return `${IMPORT_LOG_GROUP_PREFIX}${body}`.slice(0, 512);
}

/** A cloudjail jail name (`[a-z0-9][a-z0-9_-]{0,63}`) for a fail2ban section name. */
export function jailName(section: string): string {
  const name = section
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '');
  return (name === '' ? 'jail' : name).slice(0, 64);
}
