/**
 * `cloudjail import`: maps a fail2ban jail configuration onto a cloudjail configuration document.
 *
 * The jail files are read as fail2ban reads them — `jail.conf`, `jail.d/*.conf`, `jail.local`,
 * `jail.d/*.local`, with `[INCLUDES]` (Debian's `paths-debian.conf`), `[DEFAULT]`, `%(x)s` and
 * `%(known/x)s` — by the same INI reader the filters use. Every jail option fail2ban reads, and
 * every key of an imported jail's own section, gets one report line (mapped, approximated or
 * dropped) naming the file and line it came from.
 *
 * Pure: files are read through a {@link FilterFileSource}; nothing is written.
 */
import { FilterError } from '../errors.js';
import { type FilterFileSource, IniConfig } from '../filters/ini.js';
import { type ImportedLogFile, type ImportReportLine, mapJail } from './fail2ban-jail.js';
import { isTrue } from './fail2ban-values.js';

export type { ImportedLogFile, ImportReportLine, ReportStatus } from './fail2ban-jail.js';

export interface ImportResult {
  /** The cloudjail configuration document (the shape of samples/cloudjail.json). */
  readonly config: Record<string, unknown>;
  readonly logFiles: readonly ImportedLogFile[];
  readonly report: readonly ImportReportLine[];
}

export interface ImportOptions {
  /** The fail2ban configuration directory (absolute POSIX path), e.g. `/etc/fail2ban`. */
  readonly dir: string;
  readonly files: FilterFileSource;
  /** cloudjail's built-in filter names (`freeswitch`, `asterisk`). */
  readonly builtinFilters: readonly string[];
  /** Only these jails (enabled or not); default: every enabled jail. */
  readonly jails?: readonly string[];
  /** NACL of the `targets` section; default a placeholder to replace. */
  readonly naclId?: string;
}

/** Placeholder NACL id of an imported document (fail2ban has no notion of one). */
export const PLACEHOLDER_NACL = 'acl-00000000';
export { IMPORT_LOG_GROUP_PREFIX, logGroupForPath, splitSpec } from './fail2ban-values.js';

const SECTIONS_NOT_JAILS = new Set(['INCLUDES', 'DEFAULT', 'Definition', 'Init']);

/** Reads the configuration and maps the selected jails. */
export function importFail2banConfig(options: ImportOptions): ImportResult {
  const dir = options.dir.replace(/\/+$/, '') || '/';
  const jailConf = `${dir}/jail.conf`;
  const source = options.files;
  let config: IniConfig;
  const hasConf = source.read(jailConf) !== undefined;
  if (!hasConf && source.read(`${dir}/jail.local`) === undefined) {
    throw new FilterError(`no jail.conf or jail.local in ${dir}`, { file: jailConf });
  }
  if (hasConf) config = IniConfig.load(jailConf, source);
  else {
    // No jail.conf (a bare jail.local, as many published snippets are): read what there is.
    const view: FilterFileSource = {
      read: (p) => (p === jailConf ? '' : source.read(p)),
      ...(source.list ? { list: (d: string) => source.list?.(d) ?? [] } : {}),
    };
    config = IniConfig.load(jailConf, view);
  }
  const sections = [...config.sections.keys()].filter(
    (s) => !s.startsWith('KNOWN/') && !SECTIONS_NOT_JAILS.has(s),
  );
  const wanted = options.jails;
  const report: ImportReportLine[] = [];
  if (wanted) {
    for (const name of wanted) {
      if (!sections.includes(name)) {
        throw new FilterError(`no jail [${name}] in ${dir} (jails: ${sections.join(', ')})`);
      }
    }
  }
  const selected = sections.filter((section) => {
    if (wanted) return wanted.includes(section);
    const enabled = safeGet(config, section, 'enabled');
    return enabled !== undefined && isTrue(enabled) === true;
  });

  const mapped = selected.map((section) =>
    mapJail(config, section, dir, source, options.builtinFilters),
  );
  const recidive = mapped.find((m) => m.kind === 'recidive');
  const jails: Record<string, unknown>[] = [];
  const logFiles: ImportedLogFile[] = [];
  const emails = new Set<string>();
  for (const m of mapped) {
    if (m.jail) {
      if (recidive && m.jail['bantime.increment'] === undefined) {
        m.jail['bantime.increment'] = true;
        m.jail['bantime.overalljails'] = true;
        if (recidive.bantime !== undefined) m.jail['bantime.maxtime'] = recidive.bantime;
        m.report.add(
          'bantime.increment',
          'approximated',
          `from [${recidive.section}]: repeat offenders get longer bans (bantime doubles per earlier ban in any jail${recidive.bantime ? `, up to ${recidive.bantime}` : ''})`,
        );
      }
      jails.push(m.jail);
      logFiles.push(...m.logFiles);
    }
    for (const e of m.emails) emails.add(e);
    report.push(...m.report.lines);
  }

  const logGroups: Record<string, { create: boolean }> = {};
  for (const f of logFiles) logGroups[f.logGroup] = { create: true };
  const naclId = options.naclId ?? PLACEHOLDER_NACL;
  report.push({
    jail: '*',
    key: 'targets',
    status: naclId === PLACEHOLDER_NACL ? 'approximated' : 'mapped',
    detail:
      naclId === PLACEHOLDER_NACL
        ? `fail2ban bans on the host; cloudjail bans in network ACLs: replace the placeholder ${PLACEHOLDER_NACL} (or pass --nacl)`
        : `bans go to ${naclId}`,
  });
  if (Object.keys(logGroups).length > 0) {
    report.push({
      jail: '*',
      key: 'logGroups',
      status: 'mapped',
      detail: `${Object.keys(logGroups).length} log group(s) created by the stack; the CloudWatch agent configuration ships each logpath to its group`,
    });
  }
  const [email, ...more] = [...emails];
  if (more.length > 0) {
    report.push({
      jail: '*',
      key: 'notifications',
      status: 'approximated',
      detail: `one address per stack: ${email} (also named: ${more.join(', ')})`,
    });
  }
  const document: Record<string, unknown> = {
    '//': `imported from ${dir} by cloudjail import (see the report for what was approximated or dropped)`,
    jails,
    targets: [{ naclId }],
    ...(email ? { notifications: { email } } : {}),
    ...(Object.keys(logGroups).length > 0 ? { logGroups } : {}),
  };
  return { config: document, logFiles, report };
}

function safeGet(config: IniConfig, section: string, option: string): string | undefined {
  try {
    return config.get(section, option);
  } catch {
    return undefined;
  }
}
