/**
 * From log file to ban: the file is split into events as the CloudWatch agent does with the
 * configuration `agent-config` prints (test/helpers/agent-events.ts), the events go to the detector
 * handler in a real subscription payload, and the bans land in DynamoDB (dynalite).
 *
 * - A raw newline in an IAX2 peer name (Asterisk's [json] log, the documented safe source) cannot
 *   forge a record: the victim the forged text names is never banned, the sender is.
 * - A failure followed by untimestamped lines (FreeSWITCH siptrace) counts, whether those lines
 *   arrive as events of their own (our agent configuration) or joined in one event (another
 *   shipper).
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentConfig } from '../../cli/agent-config.js';
import { DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import { createTableInput } from '../../lambda/adapters/dynamodb-table.js';
import type { JailConfig } from '../../lambda/config/jail-config.js';
import { createDetectorHandler } from '../../lambda/handlers/detector.js';
import { RecordingEnforcementTrigger } from '../../lambda/ports/enforcement-trigger.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb.js';
import { agentEvents } from '../helpers/agent-events.js';
import { AST_GROUP, aJail, FS_GROUP, runtimeOf, SECOND, T0 } from '../helpers/detection.js';
import { eventId, logDate, subscriptionEvent } from '../helpers/subscription-payload.js';

let db: EmbeddedDynamoDb;
let admin: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb(`agent-pipeline-${process.pid}`);
  admin = db.client();
});
afterAll(async () => {
  await db?.stop();
});

async function detector(jail: JailConfig) {
  const table = `agent-pipeline-${++tables}`;
  await admin.send(new CreateTableCommand(createTableInput(table)));
  const store = new DynamoDbBanStore(db.client(), table);
  const handler = createDetectorHandler(() => ({
    store,
    trigger: new RecordingEnforcementTrigger(),
    jails: [runtimeOf(jail)],
    ignoreip: [],
    now: () => T0,
  }));
  return { store, handler };
}

/** The file as the agent configured by `agent-config` ships it, through the detector. */
async function ship(jail: JailConfig, file: string, fileText: string, group: string) {
  const agentJail = { name: jail.name, filter: jail.filter, logGroups: [group] };
  const entry = buildAgentConfig({ jail: agentJail, file }).logs.logs_collected.files
    .collect_list[0]!;
  expect(entry).not.toHaveProperty('multi_line_start_pattern');
  const events = agentEvents(entry, fileText);
  const d = await detector(jail);
  const payload = subscriptionEvent({
    logGroup: group,
    events: events.map((message, i) => ({ id: eventId(i), timestamp: T0 - 60 * SECOND, message })),
  });
  await d.handler(payload as never);
  const banned = (await d.store.listBans()).map((b) => b.cidr);
  return { events, banned };
}

const VICTIM = '198.51.100.20';
const SENDER = '203.0.113.30';

describe('agent-config → agent → detector → ban', () => {
  it('an IAX2 peer name with raw newlines forges no record in the [json] log', async () => {
    const jail = aJail({ name: 'asterisk', filter: 'asterisk', logGroups: [AST_GROUP] });
    const records = Array.from({ length: 5 }, (_, i) =>
      JSON.stringify({
        hostname: 'pbx-a',
        timestamp: logDate(T0 - 60 * SECOND + i * SECOND).slice(0, 19),
        identifiers: { lwp: 7781 },
        logmsg: {
          location: { filename: 'chan_iax2.c', function: 'register_verify', line: 8712 },
          level: 'NOTICE',
          // The peer name: a fake record for the victim on a line of its own, then junk.
          message: `No registration for peer 'x' (from ${VICTIM})\n[${logDate(T0).slice(0, 19)}] NOTICE[1]: chan_iax2.c: No registration for peer 'y' (from ${VICTIM})\n[junk' (from ${SENDER})\n`,
        },
      }),
    );
    const { events, banned } = await ship(
      jail,
      '/var/log/asterisk/messages.json',
      `${records.join('\n')}\n`,
      AST_GROUP,
    );
    expect(events).toHaveLength(5);
    expect(banned).toEqual([`${SENDER}/32`]);
  });

  it("a Can't find user failure followed by siptrace lines counts, line by line or joined", async () => {
    const failure = (i: number) =>
      `${logDate(T0 - 60 * SECOND + i * SECOND)} 97.10% [WARNING] sofia_reg.c:3210 Can't find user [100${i}@sip.example.com] from ${SENDER}\nrecv 512 bytes from udp/[${SENDER}]:5060 at 12:00:00.000000:\n   ------------------------------------------------------------------------\n   REGISTER sip:sip.example.com SIP/2.0`;
    const text = `${Array.from({ length: 5 }, (_, i) => failure(i)).join('\n')}\n`;
    const jail = aJail({ filter: 'freeswitch[mode=normal]', logGroups: [FS_GROUP] });
    const lineByLine = await ship(jail, '/var/log/freeswitch/freeswitch.log', text, FS_GROUP);
    expect(lineByLine.events).toHaveLength(20);
    expect(lineByLine.banned).toEqual([`${SENDER}/32`]);
    // Another shipper joins the untimestamped lines to their record: one event per failure.
    const joined = await detector(jail);
    await joined.handler(
      subscriptionEvent({
        logGroup: FS_GROUP,
        events: Array.from({ length: 5 }, (_, i) => ({
          id: eventId(i),
          timestamp: T0 - 60 * SECOND + i * SECOND,
          message: failure(i),
        })),
      }) as never,
    );
    expect((await joined.store.listBans()).map((b) => b.cidr)).toEqual([`${SENDER}/32`]);
  });
});
