/**
 * The S3 ban-list publisher over HTTP against the local S3 API (s3rver): the real
 * @aws-sdk/client-s3, real PutObject/HeadObject/GetObject, requests counted by a middleware.
 */
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBanListBody } from '../../lambda/adapters/ban-list-codec.js';
import { MemoryBanStore } from '../../lambda/adapters/memory-ban-store.js';
import { S3BanListPublisher } from '../../lambda/adapters/s3-ban-list-publisher.js';
import { BAN_LIST_KEY } from '../../lambda/core/ban-list/heartbeat.js';
import { BAN_LIST_SCHEMA } from '../../lambda/core/ban-list/schema.js';
import { SIP_DENY } from '../../lambda/core/deny-spec.js';
import { PublicationMemory, publishBanList } from '../../lambda/use-cases/publish-ban-list.js';
import { type LocalS3, startLocalS3 } from '../../local/s3-endpoint.js';
import { aBan, hostBans, MINUTE, T0 } from '../unit/enforcement/helpers.js';

describe('S3BanListPublisher on a local S3 API', () => {
  let s3: LocalS3;
  const commands: string[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3();
  });
  afterAll(async () => {
    await s3.stop();
  });

  function publisher() {
    const client = s3.client();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    return { client, publisher: new S3BanListPublisher({ client, bucket: s3.bucket }) };
  }

  const deps = (p: S3BanListPublisher, memory?: PublicationMemory) => ({
    publisher: p,
    jails: [{ name: 'sip', deny: SIP_DENY }],
    ignoreip: ['192.0.2.0/28'],
    runtimeIgnores: async () => new MemoryBanStore().listIgnores(),
    ...(memory ? { memory } : {}),
  });

  it('publishes gzip JSON of the schema, with metadata, and does not rewrite unchanged content', async () => {
    const { client, publisher: p } = publisher();
    expect(await p.current()).toBeUndefined();
    const bans = hostBans(50);
    const first = await publishBanList(bans, T0, deps(p));
    expect(first).toMatchObject({ serial: T0, bans: 50, changed: true, notPublished: 0 });

    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: BAN_LIST_KEY }));
    expect(head.ContentType).toBe('application/gzip');
    expect(head.CacheControl).toBe('no-cache');
    expect(head.ContentLength).toBe(first.bytes);
    expect(head.Metadata).toMatchObject({
      serial: String(T0),
      bans: '50',
      'generated-at': String(T0),
    });
    expect(head.Metadata?.['content-sha256']).toMatch(/^[0-9a-f]{64}$/);

    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: BAN_LIST_KEY }));
    const list = decodeBanListBody(await got.Body!.transformToByteArray()) as Record<
      string,
      unknown
    >;
    expect(list).toMatchObject({
      schema: BAN_LIST_SCHEMA,
      schemaVersion: 1,
      serial: T0,
      generatedAt: T0,
    });
    expect(list['allowlist']).toEqual([{ cidr: '192.0.2.0/28', jails: null }]);
    expect((list['groups'] as { bans: unknown[] }[])[0]!.bans).toHaveLength(50);
    expect(await p.read()).toEqual(list);

    const lastModified = head.LastModified;
    const puts = commands.filter((c) => c === 'PutObjectCommand').length;
    const again = await publishBanList(bans, T0 + MINUTE, deps(p));
    expect(again).toMatchObject({ serial: T0, changed: false, bytes: first.bytes });
    expect(commands.filter((c) => c === 'PutObjectCommand').length).toBe(puts);
    const head2 = await client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: BAN_LIST_KEY }),
    );
    expect(head2.LastModified).toEqual(lastModified);
    expect(head2.ETag).toBe(head.ETag);
  });

  it('the serial grows with each change, and after the object is lost', async () => {
    const { client, publisher: p } = publisher();
    const memory = new PublicationMemory();
    const a = await publishBanList(hostBans(5), T0 + 2 * MINUTE, deps(p, memory));
    const b = await publishBanList(
      [...hostBans(5), aBan({ cidr: '203.0.113.9/32' })],
      T0 + 2 * MINUTE,
      deps(p, memory),
    );
    expect(b.serial!).toBeGreaterThan(a.serial!);
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: BAN_LIST_KEY }));
    expect(await p.current()).toBeUndefined();
    const c = await publishBanList(hostBans(5), T0 + 2 * MINUTE, deps(p, memory));
    expect(c.changed).toBe(true);
    expect(c.serial!).toBeGreaterThan(b.serial!);
    expect((await p.current())?.serial).toBe(c.serial);
  });

  it('an unreachable bucket is a reported error, not a throw', async () => {
    const client = s3.client();
    const p = new S3BanListPublisher({ client, bucket: 'no-such-bucket' });
    const r = await publishBanList(hostBans(3), T0, deps(p));
    expect(r.changed).toBe(false);
    expect(r.error).toMatch(/NoSuchBucket|NotFound|404/);
    expect(r.notPublished).toBe(3);
  });
});
