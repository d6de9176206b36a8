/**
 * The ban-list publisher on S3: one object (BAN_LIST_KEY) in the ban-list bucket, written with
 * PutObject (gzip JSON, `Cache-Control: no-cache` so no cache between the bucket and an agent
 * serves a stale list), its serial, content hash, ban count and time as user metadata; read back
 * with HeadObject (s3:GetObject permission on that key only).
 *
 * Works against the real service and the local S3 API (local/s3-endpoint.ts) alike.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { BAN_LIST_KEY } from '../core/ban-list/heartbeat.js';
import type { BanList } from '../core/ban-list/schema.js';
import type {
  BanListPublisher,
  PublishedBanList,
  PublishRequest,
} from '../ports/ban-list-publisher.js';
import { BAN_LIST_CONTENT_TYPE, decodeBanListBody, serializeBanList } from './ban-list-codec.js';

/** User metadata keys (S3 lower-cases them; sent as x-amz-meta-*). */
export const BAN_LIST_METADATA = {
  serial: 'serial',
  contentHash: 'content-sha256',
  bans: 'bans',
  generatedAt: 'generated-at',
} as const;

export interface S3BanListOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Default BAN_LIST_KEY. */
  readonly key?: string;
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404
  );
}

function metadataNumber(
  metadata: Record<string, string> | undefined,
  key: string,
): number | undefined {
  const text = metadata?.[key];
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

export class S3BanListPublisher implements BanListPublisher {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly key: string;

  constructor(options: S3BanListOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.key = options.key ?? BAN_LIST_KEY;
  }

  /**
   * The published list's metadata. An object without readable cloudjail metadata (written by
   * someone else) counts as none: the next publication replaces it with a serial from the clock.
   */
  async current(): Promise<PublishedBanList | undefined> {
    let out: HeadObjectCommandOutput;
    try {
      out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key }));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    const serial = metadataNumber(out.Metadata, BAN_LIST_METADATA.serial);
    const contentHash = out.Metadata?.[BAN_LIST_METADATA.contentHash];
    if (serial === undefined || contentHash === undefined) return undefined;
    return {
      serial,
      contentHash,
      bans: metadataNumber(out.Metadata, BAN_LIST_METADATA.bans) ?? 0,
      generatedAt: metadataNumber(out.Metadata, BAN_LIST_METADATA.generatedAt) ?? 0,
      bytes: out.ContentLength ?? 0,
    };
  }

  async publish(request: PublishRequest): Promise<{ bytes: number }> {
    const body = serializeBanList(request.list, request.json);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.key,
        Body: body,
        ContentType: BAN_LIST_CONTENT_TYPE,
        CacheControl: 'no-cache',
        Metadata: {
          [BAN_LIST_METADATA.serial]: String(request.list.serial),
          [BAN_LIST_METADATA.contentHash]: request.contentHash,
          [BAN_LIST_METADATA.bans]: String(request.bans),
          [BAN_LIST_METADATA.generatedAt]: String(request.list.generatedAt),
        },
      }),
    );
    return { bytes: body.length };
  }

  /**
   * The whole published list, decoded but not validated (the agent's parser validates): what
   * `replay --json` reports as `published`. Undefined when none is published.
   */
  async read(): Promise<BanList | undefined> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key }),
      );
      const bytes = await out.Body?.transformToByteArray();
      return bytes ? (decodeBanListBody(bytes) as BanList) : undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }
}
