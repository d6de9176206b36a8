import type { FilterFileSource, IniConfig, RawValue } from '../filters/ini.js';
import { parseCidr } from '../ip-address.js';
import { PERMANENT, parseDuration } from '../policy/duration.js';
import {
  type Action,
  isFirewallAction,
  isMailAction,
  isTrue,
  jailName,
  logGroupForPath,
  mapPorts,
  parseActions,
  splitSpec,
} from './fail2ban-values.js';

export type ReportStatus = 'mapped' | 'approximated' | 'dropped';

/** One line of the import report. */
export interface ImportReportLine {
  /** fail2ban jail (section) name, or `*` for the whole document. */
  readonly jail: string;
  readonly key: string;
  readonly status: ReportStatus;
  readonly detail: string;
  readonly file?: string;
  readonly line?: number;
}

/** A log file a jail reads, shipped by the CloudWatch agent to `logGroup`. */
export interface ImportedLogFile {
  readonly jail: string;
  readonly file: string;
  readonly logGroup: string;
  /** Built-in log format (`freeswitch`, `asterisk`) of the file, or undefined: one line per event. */
  readonly format?: string;
  readonly timezone?: string;
  readonly filter: string;
}

/** Parameters each built-in filter understands (others are reported and dropped). */
const BUILTIN_PARAMS: Readonly<Record<string, readonly string[]>> = {
  freeswitch: ['mode'],
  asterisk: [],
};

/** Options fail2ban's JailReader reads (1.0.2), reported whenever they have a value. */
const JAIL_OPTIONS = [
  'enabled',
  'filter',
  'logpath',
  'backend',
  'maxretry',
  'maxmatches',
  'findtime',
  'bantime',
  'bantime.increment',
  'bantime.factor',
  'bantime.formula',
  'bantime.multipliers',
  'bantime.maxtime',
  'bantime.rndtime',
  'bantime.overalljails',
  'ignoreip',
  'ignoreself',
  'ignorecommand',
  'ignorecache',
  'usedns',
  'logencoding',
  'logtimezone',
  'action',
  'failregex',
  'ignoreregex',
  'prefregex',
  'datepattern',
  'maxlines',
  'journalmatch',
] as const;

interface Deny {
  ports?: string;
  protocols: Set<'tcp' | 'udp'>;
  all: boolean;
}

export class Reporter {
  readonly lines: ImportReportLine[] = [];
  constructor(private readonly jail: string) {}
  add(key: string, status: ReportStatus, detail: string, at?: RawValue): void {
    this.lines.push({
      jail: this.jail,
      key,
      status,
      detail,
      ...(at ? { file: at.file, line: at.line } : {}),
    });
  }
}

/** What one fail2ban jail became. */
export interface MappedJail {
  readonly section: string;
  readonly jail?: Record<string, unknown>;
  readonly logFiles: ImportedLogFile[];
  readonly emails: string[];
  readonly report: Reporter;
  readonly kind: 'jail' | 'recidive' | 'blacklist' | 'skipped';
  readonly bantime?: string;
}

export function mapJail(
  config: IniConfig,
  section: string,
  dir: string,
  source: FilterFileSource,
  builtins: readonly string[],
): MappedJail {
  const r = new Reporter(section);
  const name = jailName(section);
  const raw = (key: string) => config.raw(section, key);
  const get = (key: string): string | undefined => {
    try {
      return config.get(section, key);
    } catch (e) {
      r.add(key, 'dropped', `cannot be read: ${(e as Error).message}`, raw(key));
      return undefined;
    }
  };
  const handled = new Set<string>();
  const done = (key: string, status: ReportStatus, detail: string) => {
    handled.add(key);
    r.add(key, status, detail, raw(key));
  };
  const jail: Record<string, unknown> = { name };
  if (name !== section) {
    r.add('name', 'approximated', `jail name "${section}" becomes "${name}"`);
  }
  const enabled = get('enabled');
  if (enabled !== undefined) {
    done(
      'enabled',
      'mapped',
      isTrue(enabled) === true ? 'enabled: imported' : 'not enabled: imported because --jail',
    );
  }
  const actions = parseActionsSafe(get('action'), r, raw('action'));
  const banaction = get('banaction');
  const isBlacklist =
    section.toLowerCase() === 'blacklist' ||
    banaction?.trim() === 'blacklist' ||
    actions.some((a) => a.name === 'blacklist');
  if (isBlacklist) {
    for (const key of reportedKeys(config, section)) {
      if (handled.has(key)) continue;
      done(
        key,
        'approximated',
        key === 'bantime' || key === 'banaction' || key === 'action'
          ? 'a jail of permanent manual bans: use `cloudjail ban --permanent <address>` (jail "manual", denies all traffic); no jail is created'
          : 'not used: manual bans need no jail',
      );
    }
    return { section, logFiles: [], emails: [], report: r, kind: 'blacklist' };
  }

  // Filter (fail2ban's jail.conf defaults it to the jail's name).
  let filterText = get('filter');
  if (filterText === undefined) {
    filterText = section;
    r.add(
      'filter',
      'approximated',
      `no filter option: the filter named like the jail, "${section}"`,
    );
  }
  const isRecidive =
    section.toLowerCase() === 'recidive' ||
    (filterText !== undefined && splitSpecSafe(filterText)?.name === 'recidive');
  if (isRecidive) {
    const bantime = get('bantime');
    const ms = bantime === undefined ? undefined : parseDuration(bantime);
    for (const key of reportedKeys(config, section)) {
      if (handled.has(key)) continue;
      done(
        key,
        'approximated',
        key === 'bantime'
          ? `recidive escalation: every imported jail gets bantime.increment with bantime.overalljails${ms !== undefined && ms !== PERMANENT ? ` and bantime.maxtime ${bantime?.trim()}` : ''}`
          : 'recidive reads fail2ban\'s own log; cloudjail escalates natively ("bantime.increment")',
      );
    }
    return {
      section,
      logFiles: [],
      emails: [],
      report: r,
      kind: 'recidive',
      ...(ms !== undefined && ms !== PERMANENT && bantime ? { bantime: bantime.trim() } : {}),
    };
  }

  let filterSpec: string | undefined;
  let filterBase: string | undefined;
  if (filterText !== undefined) {
    const spec = splitSpecSafe(filterText);
    if (!spec) {
      done('filter', 'dropped', `cannot parse filter ${JSON.stringify(filterText)}`);
    } else {
      filterBase = spec.name;
      const filterDir = `${dir}/filter.d`;
      const isBuiltin = builtins.includes(spec.name);
      const notes: string[] = [];
      let params: Record<string, string> = spec.params;
      if (isBuiltin) {
        const known = BUILTIN_PARAMS[spec.name] ?? [];
        params = {};
        for (const [k, v] of Object.entries(spec.params)) {
          if (known.includes(k)) params[k] = v;
          else if (k === 'mode' && v === 'normal')
            continue; // Debian's default: no effect here
          else
            notes.push(
              k.startsWith('_pref') || k === '__prefix_line'
                ? `parameter ${k}=${JSON.stringify(v)} dropped (the built-in reads the idle-CPU field and every log prefix itself)`
                : `parameter ${k}=${JSON.stringify(v)} dropped (not a parameter of the built-in)`,
            );
        }
      }
      const paramText = Object.entries(params)
        .map(([k, v]) => (/[,\]"]/.test(v) ? `${k}='${v}'` : `${k}=${v}`))
        .join(', ');
      const withParams = (base: string) => (paramText ? `${base}[${paramText}]` : base);
      const local = `${filterDir}/${spec.name}.local`;
      const dDir = `${filterDir}/${spec.name}.d`;
      const extensions = [
        ...(source.read(local) !== undefined ? [local] : []),
        ...(source.list?.(dDir) ?? [])
          .filter((f) => f.endsWith('.conf') || f.endsWith('.local'))
          .sort()
          .map((f) => `${dDir}/${f}`),
      ];
      if (isBuiltin && extensions.length > 0) {
        filterSpec = withParams(local);
        done(
          'filter',
          'mapped',
          `cloudjail's built-in "${spec.name}" extended by ${extensions.join(', ')}${notes.length ? `; ${notes.join('; ')}` : ''}`,
        );
      } else if (isBuiltin) {
        filterSpec = withParams(spec.name);
        done(
          'filter',
          notes.length ? 'approximated' : 'mapped',
          `cloudjail's built-in "${spec.name}"${notes.length ? `; ${notes.join('; ')}` : ''}`,
        );
      } else if (source.read(`${filterDir}/${spec.name}.conf`) !== undefined) {
        filterSpec = withParams(`${filterDir}/${spec.name}.conf`);
        done(
          'filter',
          'approximated',
          `fail2ban's own ${filterDir}/${spec.name}.conf (loaded unchanged, shipped with the detector; no built-in log format)`,
        );
      } else {
        done(
          'filter',
          'dropped',
          `no filter "${spec.name}" (not built in, no ${filterDir}/${spec.name}.conf)`,
        );
      }
    }
  }
  if (filterSpec === undefined) {
    for (const key of reportedKeys(config, section)) {
      if (!handled.has(key)) done(key, 'dropped', 'jail not imported: it has no usable filter');
    }
    return { section, logFiles: [], emails: [], report: r, kind: 'skipped' };
  }
  jail['filter'] = filterSpec;

  // Counting and banning.
  const maxretry = get('maxretry');
  if (maxretry !== undefined) {
    const n = Number(maxretry.trim());
    if (Number.isInteger(n) && n >= 1) {
      jail['maxretry'] = n;
      done('maxretry', 'mapped', `${n}`);
    } else done('maxretry', 'dropped', `${JSON.stringify(maxretry)} is not a whole number >= 1`);
  }
  for (const key of ['findtime', 'bantime', 'bantime.maxtime'] as const) {
    const text = get(key);
    if (text === undefined) continue;
    const ms = parseDuration(text.trim());
    if (ms === undefined || ms === 0 || (ms === PERMANENT && key !== 'bantime')) {
      done(key, 'dropped', `${JSON.stringify(text)} is not a usable duration`);
      continue;
    }
    jail[key] = text.trim();
    done(key, 'mapped', ms === PERMANENT ? 'permanent (-1)' : text.trim());
  }
  for (const key of ['bantime.increment', 'bantime.overalljails'] as const) {
    const text = get(key);
    if (text === undefined) continue;
    const b = isTrue(text);
    if (b === undefined) done(key, 'dropped', `${JSON.stringify(text)} is not true or false`);
    else {
      jail[key] = b;
      done(key, 'mapped', String(b));
    }
  }
  const factor = get('bantime.factor');
  if (factor !== undefined) {
    const n = Number(factor.trim());
    if (Number.isFinite(n) && n > 0) {
      jail['bantime.factor'] = n;
      done('bantime.factor', 'mapped', String(n));
    } else
      done(
        'bantime.factor',
        'dropped',
        `${JSON.stringify(factor)} is not a number > 0 (fail2ban evaluates it as Python)`,
      );
  }
  const multipliers = get('bantime.multipliers');
  if (multipliers !== undefined && multipliers.trim() !== '') {
    const list = multipliers.trim().split(/\s+/).map(Number);
    if (list.every((n) => Number.isFinite(n) && n > 0)) {
      jail['bantime.multipliers'] = list.join(' ');
      done('bantime.multipliers', 'mapped', list.join(' '));
    } else
      done(
        'bantime.multipliers',
        'dropped',
        `${JSON.stringify(multipliers)} are not positive numbers`,
      );
  }
  for (const key of ['bantime.formula', 'bantime.rndtime'] as const) {
    if (raw(key) !== undefined)
      done(
        key,
        'dropped',
        key === 'bantime.formula'
          ? 'a Python expression: cloudjail uses the default doubling or bantime.multipliers'
          : 'cloudjail bans do not get a random extra time',
      );
  }

  // Allowlist.
  const ignoreip = get('ignoreip');
  if (ignoreip !== undefined) {
    const entries = ignoreip.split(/[\s,]+/).filter((s) => s !== '');
    const kept: string[] = [];
    const dropped: string[] = [];
    for (const e of entries) {
      const cidr = parseCidr(e);
      if (cidr) kept.push(cidr.text);
      else dropped.push(e);
    }
    if (kept.length > 0) jail['ignoreip'] = kept;
    done(
      'ignoreip',
      dropped.length ? 'approximated' : 'mapped',
      `${kept.join(' ') || '(empty)'}${dropped.length ? `; dropped ${dropped.join(' ')} (cloudjail never resolves DNS names or reads files)` : ''}`,
    );
  }

  // Actions: what a ban denies, and notifications.
  const emails: string[] = [];
  const deny: Deny = { protocols: new Set(), all: false };
  let firewall = false;
  if (raw('banaction') !== undefined) handled.add('banaction');
  for (const action of actions) {
    const fw = isFirewallAction(action.name);
    if (fw) {
      firewall = true;
      const allports = action.name.includes('allports') || action.name === 'ufw';
      const protocol = (action.params['protocol'] ?? get('protocol') ?? 'tcp').trim().toLowerCase();
      const portText = action.params['port'] ?? get('port') ?? '0:65535';
      const ports = mapPorts(portText);
      const notes: string[] = [];
      if (allports || ports.all || protocol === 'all') {
        if (allports || ports.all) deny.all = true;
        else {
          deny.protocols.add('tcp').add('udp');
          deny.ports = [deny.ports, ports.ports].filter(Boolean).join(',');
          notes.push(
            'protocol all: tcp and udp denied (NACL entries of other protocols are not written)',
          );
        }
        if (ports.unknown.length)
          notes.push(`unknown port name(s) ${ports.unknown.join(', ')}: all traffic denied`);
      } else {
        if (protocol === 'tcp' || protocol === 'udp') deny.protocols.add(protocol);
        else {
          deny.protocols.add('tcp').add('udp');
          notes.push(`protocol ${protocol}: tcp and udp denied`);
        }
        deny.ports = [deny.ports, ports.ports].filter(Boolean).join(',');
      }
      r.add(
        'action',
        fw === 'mapped' && notes.length === 0 ? 'mapped' : 'approximated',
        `${action.name}: a ban denies ${allports || ports.all ? 'all traffic' : `ports ${ports.ports ?? 'all'}/${protocol}`} from the address in the network ACLs (and on hosts running the cloudjail agent)${action.name === 'ufw' ? " (fail2ban's ufw action denies every port unless an application is set)" : ''}${notes.length ? `; ${notes.join('; ')}` : ''}`,
        raw('action'),
      );
    } else if (isMailAction(action.name)) {
      const dest = (action.params['dest'] ?? get('destemail') ?? '').trim();
      if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(dest)) {
        emails.push(dest);
        r.add(
          'action',
          'mapped',
          `${action.name}: ban notifications by e-mail to ${dest} (notifications.email)`,
          raw('action'),
        );
      } else {
        r.add(
          'action',
          'approximated',
          `${action.name}: ban notifications wanted, but ${JSON.stringify(dest)} is not a full e-mail address: set notifications.email${action.name.includes('whois') ? ' (whois details are not included)' : ''}`,
          raw('action'),
        );
      }
    } else {
      r.add(
        'action',
        'dropped',
        `${action.name}: no cloudjail equivalent (${action.text})`,
        raw('action'),
      );
    }
  }
  if (actions.length > 0) handled.add('action');
  if (banaction !== undefined) {
    done(
      'banaction',
      firewall ? 'mapped' : 'dropped',
      `${banaction.trim()}: ${firewall ? 'used by "action"' : 'no action uses it'}`,
    );
  }
  if (!firewall && actions.length > 0) {
    r.add(
      'action',
      'approximated',
      'no firewall action: cloudjail still denies all traffic from banned addresses',
      raw('action'),
    );
  }
  for (const key of ['port', 'protocol'] as const) {
    if (raw(key) !== undefined) {
      done(
        key,
        firewall ? 'mapped' : 'dropped',
        firewall ? `used by the ban action (see "action")` : 'no firewall action uses it',
      );
    }
  }
  if (!deny.all && firewall && deny.ports && deny.protocols.size > 0) {
    const ports = [...new Set(deny.ports.split(','))].join(',');
    jail['deny'] = { ports, protocols: [...deny.protocols].sort() };
  } else jail['deny'] = 'all';

  // Zone of log dates without one.
  const zone = get('logtimezone')?.trim();
  if (zone !== undefined && zone !== '') {
    if (/^(?:UTC|GMT)(?:[+-]\d{2}:?\d{2})?$/i.test(zone)) {
      jail['timezone'] = zone.toUpperCase();
      done('logtimezone', 'mapped', `timezone ${zone.toUpperCase()}`);
    } else done('logtimezone', 'dropped', `${JSON.stringify(zone)} is not UTC or UTC±hhmm`);
  }

  // Log files.
  const backend = get('backend');
  const logpath = get('logpath');
  const logFiles: ImportedLogFile[] = [];
  if (backend !== undefined) {
    const b = backend.trim();
    done(
      'backend',
      b.startsWith('systemd') ? 'approximated' : 'mapped',
      b.startsWith('systemd')
        ? 'systemd journal: cloudjail reads CloudWatch Logs; ship the journal (or a file rsyslog writes from it) with the CloudWatch agent'
        : `${b}: the CloudWatch agent tails the files`,
    );
  }
  const logGroups: string[] = [];
  if (logpath !== undefined) {
    const paths = logpath
      .split('\n')
      .map((l) => l.trim().replace(/\s+(?:tail|head)$/, ''))
      .filter((l) => l !== '');
    for (const path of paths) {
      const group = logGroupForPath(path);
      if (!logGroups.includes(group)) logGroups.push(group);
      const builtinFormat =
        filterBase !== undefined && builtins.includes(filterBase) && !/\.(?:csv|cdr)$/i.test(path)
          ? filterBase
          : undefined;
      logFiles.push({
        jail: name,
        file: path,
        logGroup: group,
        filter: filterSpec,
        ...(builtinFormat ? { format: builtinFormat } : {}),
        ...(typeof jail['timezone'] === 'string' ? { timezone: jail['timezone'] } : {}),
      });
    }
    const plain = logFiles.filter((f) => !f.format).map((f) => f.file);
    done(
      'logpath',
      paths.some((p) => /[*?[]/.test(p)) || plain.length > 0 ? 'approximated' : 'mapped',
      `${paths.map((p) => `${p} → ${logGroupForPath(p)}`).join('; ')}${paths.some((p) => /[*?[]/.test(p)) ? ' (globs: the agent ships every matching file to one group)' : ''}${plain.length ? `; ${plain.join(', ')}: no built-in log format, one line per event, timed when read` : ''}`,
    );
  }
  jail['logGroups'] = logGroups;
  if (logGroups.length === 0) {
    r.add('logpath', 'dropped', 'no logpath: the jail reads no log group (add "logGroups")');
  }

  // The rest: reported, not silently dropped.
  const dropReasons: Readonly<Record<string, string>> = {
    ignoreself: "cloudjail does not know the hosts' own addresses: add them to ignoreip",
    ignorecommand: 'cloudjail runs no commands',
    ignorecache: 'no ignore commands or DNS to cache',
    usedns: 'cloudjail never resolves DNS: only addresses are banned (usedns = no)',
    logencoding: 'CloudWatch Logs events are UTF-8',
    maxmatches: 'a ban keeps its first matched lines',
    maxlines: 'use a filter file',
    failregex: 'a jail-level failregex: put it in filter.d/<filter>.local instead',
    ignoreregex: 'a jail-level ignoreregex: put it in filter.d/<filter>.local instead',
    prefregex: 'a jail-level prefregex: put it in filter.d/<filter>.local instead',
    datepattern: 'a jail-level datepattern: put it in filter.d/<filter>.local instead',
    journalmatch: 'cloudjail reads CloudWatch Logs, not the journal',
    chain: 'iptables chain: bans go to network ACLs',
    mode: 'a filter parameter: see "filter"',
    mta: 'mail is sent by SNS (notifications.email)',
    destemail: 'used by a mail action only',
    sender: 'SNS sends the mail',
  };
  for (const key of reportedKeys(config, section)) {
    if (handled.has(key)) continue;
    const reason = dropReasons[key];
    if (reason === undefined) {
      done(key, 'dropped', 'not a cloudjail option');
    } else {
      const value = raw(key);
      const blank = value !== undefined && value.value.trim() === '';
      done(key, blank ? 'mapped' : 'dropped', blank ? 'empty: nothing to map' : reason);
    }
  }
  return { section, jail, logFiles, emails, report: r, kind: 'jail' };
}

function parseActionsSafe(
  value: string | undefined,
  r: Reporter,
  at: RawValue | undefined,
): Action[] {
  if (value === undefined) return [];
  try {
    return parseActions(value);
  } catch (e) {
    r.add('action', 'dropped', `cannot parse: ${(e as Error).message}`, at);
    return [];
  }
}

function splitSpecSafe(text: string): { name: string; params: Record<string, string> } | undefined {
  try {
    return splitSpec(text);
  } catch {
    return undefined;
  }
}

/**
 * The keys reported for a jail: every fail2ban jail option with a value (from the section or
 * `[DEFAULT]`), and every key of the section itself, `port`/`protocol`/`banaction` included.
 */
function reportedKeys(config: IniConfig, section: string): string[] {
  const keys: string[] = [];
  for (const key of JAIL_OPTIONS) if (config.raw(section, key) !== undefined) keys.push(key);
  for (const key of config.sections.get(section)?.keys() ?? []) {
    if (!keys.includes(key)) keys.push(key);
  }
  return keys;
}
