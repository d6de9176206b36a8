/**
 * A jail's settings as `cloudjail status <jail>` shows them (like `fail2ban-client get <jail> ...`):
 * filter, maxretry, findtime, bantime, escalation, deny, with any runtime override
 * (`cloudjail set`) applied and marked.
 */
import type { JailConfig } from '../lambda/config/jail-config.js';
import type { DenySpec } from '../lambda/core/deny-spec.js';
import { formatDuration, PERMANENT } from '../lambda/core/policy/duration.js';
import {
  applyOverride,
  type JailOverride,
  OVERRIDABLE,
} from '../lambda/core/policy/jail-overrides.js';

export interface JailSettings {
  readonly filter: string;
  readonly maxretry: number;
  /** ms. */
  readonly findtime: number;
  /** ms, -1 = permanent. */
  readonly bantime: number;
  readonly escalation: JailConfig['increment'];
  readonly deny: DenySpec;
  readonly ignoreip: readonly string[];
  readonly timezone: string;
  readonly logGroups: readonly string[];
  /** Settings changed at runtime (`cloudjail set`), with the configured value they replace. */
  readonly overridden: Readonly<Record<string, { readonly configured: number }>>;
}

export function jailSettings(cfg: JailConfig, overrides: readonly JailOverride[]): JailSettings {
  const effective = applyOverride(cfg, overrides);
  const overridden: Record<string, { configured: number }> = {};
  for (const k of OVERRIDABLE) {
    if (effective[k] !== cfg[k]) overridden[k] = { configured: cfg[k] };
  }
  return {
    filter: cfg.filter,
    maxretry: effective.maxretry,
    findtime: effective.findtime,
    bantime: effective.bantime,
    escalation: cfg.increment,
    deny: cfg.deny,
    ignoreip: cfg.ignoreip,
    timezone: cfg.timezone,
    logGroups: cfg.logGroups,
    overridden,
  };
}

function duration(ms: number): string {
  return ms === PERMANENT ? 'permanent (-1)' : formatDuration(ms);
}

function denyText(d: DenySpec): string {
  if (d.kind === 'all') return 'all traffic';
  const ports = d.ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`));
  return `${d.protocols.join('+')} ${ports.join(',')}`;
}

function escalationText(e: JailConfig['increment']): string {
  if (!e.enabled) return 'off';
  const parts = [
    e.multipliers && e.multipliers.length > 0
      ? `multipliers ${e.multipliers.join(' ')}`
      : `factor ${e.factor}`,
    ...(e.maxtime !== undefined ? [`maxtime ${duration(e.maxtime)}`] : []),
    ...(e.overalljails ? ['overalljails'] : []),
  ];
  return `on (${parts.join(', ')})`;
}

/** The settings block of `status <jail>`. */
export function settingsLines(s: JailSettings): string[] {
  const mark = (k: string, text: string) => {
    const o = s.overridden[k];
    if (!o) return text;
    const configured = k === 'maxretry' ? String(o.configured) : duration(o.configured);
    return `${text}  (set at runtime; configured ${configured})`;
  };
  return [
    'Settings:',
    `  filter:     ${s.filter}`,
    `  maxretry:   ${mark('maxretry', String(s.maxretry))}`,
    `  findtime:   ${mark('findtime', duration(s.findtime))}`,
    `  bantime:    ${mark('bantime', duration(s.bantime))}`,
    `  escalation: ${escalationText(s.escalation)}`,
    `  deny:       ${denyText(s.deny)}`,
    `  ignoreip:   ${s.ignoreip.join(' ') || '-'}`,
    `  timezone:   ${s.timezone}`,
  ];
}
