/**
 * A local S3 API on 127.0.0.1 (s3rver, a maintained S3 emulator speaking the real REST/XML
 * protocol: PutObject, GetObject with `If-None-Match` → 304, HeadObject, ListObjectsV2,
 * DeleteObject) with the ban-list bucket created. The embedded mode publishes the ban list here and
 * `cloudjail agent --local` polls it; the real `@aws-sdk/client-s3` talks to it over HTTP.
 * Objects live in a temporary directory removed on stop. s3rver does not implement bucket
 * versioning: the deployed bucket is versioned (lib/), the local one is not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** The embedded mode's bucket (S3 names: 3-63 lowercase characters). */
export const LOCAL_BAN_LIST_BUCKET = 'cloudjail-local';

export interface LocalS3 {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly bucket: string;
  /** A path-style client with s3rver's fixed credentials (loopback only). */
  client(): S3Client;
  stop(): Promise<void>;
}

export interface LocalS3Options {
  /** Default 0 (ephemeral). */
  readonly port?: number;
  readonly bucket?: string;
}

export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  const bucket = options.bucket ?? LOCAL_BAN_LIST_BUCKET;
  const directory = mkdtempSync(join(tmpdir(), 'cloudjail-s3-'));
  const server = new S3rver({
    port: options.port ?? 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  let address: { port: number };
  try {
    address = (await server.run()) as { port: number };
  } catch (e) {
    rmSync(directory, { recursive: true, force: true });
    throw e;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    bucket,
    client() {
      const c = localS3Client(endpoint);
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A client for a local S3 endpoint (also what `--local` commands build from the server's URL). */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    maxAttempts: 3,
  });
}
