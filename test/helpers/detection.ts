/**
 * Detection test helpers: validated jails with the real built-in filters, and a DynamoDB request
 * counter (an SDK middleware: every request the client sends, retries excluded).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadBuiltinOrFileFilter } from '../../lambda/adapters/filter-files.js';
import { type JailConfig, parseJails } from '../../lambda/config/jail-config.js';
import type { JailRuntime } from '../../lambda/use-cases/ingest-log-events.js';

/** A fixed reference time for tests: 2026-11-10T12:00:00Z. */
export const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

export const FS_GROUP = '/sbc/freeswitch';
export const AST_GROUP = '/sbc/asterisk';

/** One jail config through the real parser (so defaults and validation apply). */
export function aJail(raw: Record<string, unknown> = {}): JailConfig {
  const parsed = parseJails([
    {
      name: 'freeswitch',
      logGroups: [FS_GROUP],
      maxretry: 5,
      findtime: '10m',
      bantime: '1h',
      ...raw,
    },
  ]);
  if (!parsed.value) throw new Error(`bad test jail: ${parsed.problems.join('; ')}`);
  return parsed.value[0] as JailConfig;
}

const filters = new Map<string, ReturnType<typeof loadBuiltinOrFileFilter>>();

/** A jail runtime with its filter loaded once per spec (as a Lambda container does). */
export function runtimeOf(config: JailConfig): JailRuntime {
  let filter = filters.get(config.filter);
  if (!filter) {
    filter = loadBuiltinOrFileFilter(config.filter);
    filters.set(config.filter, filter);
  }
  const f = filter;
  return { config, createMatcher: () => f.createMatcher({ timeZone: config.timezone }) };
}

/** Counts the requests a DynamoDB client sends, by command name. */
export class RequestCounter {
  readonly byCommand = new Map<string, number>();
  total = 0;

  constructor(client: DynamoDBClient) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        this.total++;
        const name = String(context.commandName ?? 'unknown');
        this.byCommand.set(name, (this.byCommand.get(name) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'cloudjailRequestCounter' },
    );
  }

  reset(): void {
    this.total = 0;
    this.byCommand.clear();
  }

  count(command: string): number {
    return this.byCommand.get(command) ?? 0;
  }
}

/** A logger that records what it is given. */
export class RecordingLogger {
  readonly entries: {
    level: 'info' | 'warn' | 'error';
    message: string;
    extra: Record<string, unknown>;
  }[] = [];
  info(message: string, extra: Record<string, unknown> = {}): void {
    this.entries.push({ level: 'info', message, extra });
  }
  warn(message: string, extra: Record<string, unknown> = {}): void {
    this.entries.push({ level: 'warn', message, extra });
  }
  error(message: string, extra: Record<string, unknown> = {}): void {
    this.entries.push({ level: 'error', message, extra });
  }
  messages(level?: 'info' | 'warn' | 'error'): string[] {
    return this.entries.filter((e) => !level || e.level === level).map((e) => e.message);
  }
}
