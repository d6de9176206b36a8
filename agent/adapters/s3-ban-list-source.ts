/** BanListSource on S3: GetObject with If-None-Match (304 → not modified). */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BanListSource, FetchResult } from '../ports.js';

export class S3BanListSource implements BanListSource {
  readonly describe: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
  ) {
    this.describe = `s3://${bucket}/${key}`;
  }

  async fetch(etag: string | undefined): Promise<FetchResult> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key, IfNoneMatch: etag }),
      );
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      return { kind: 'object', body, etag: out.ETag };
    } catch (e) {
      // The SDK surfaces 304 Not Modified as an error.
      if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 304)
        return { kind: 'not-modified' };
      throw e;
    }
  }
}
