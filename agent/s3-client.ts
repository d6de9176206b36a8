/** The agent's S3 client: the AWS SDK chain (instance role), or a local S3 API (path style). */
import { S3Client } from '@aws-sdk/client-s3';

export interface S3Target {
  readonly bucket: string;
  readonly region?: string;
  /** A local/S3-compatible endpoint (`http://127.0.0.1:port`): path style, local credentials. */
  readonly endpoint?: string;
}

export function agentS3Client(target: S3Target): S3Client {
  if (target.endpoint) {
    return new S3Client({
      endpoint: target.endpoint,
      region: target.region ?? 'us-east-1',
      forcePathStyle: true,
      // s3rver's fixed credentials (local/s3-endpoint.ts): loopback only.
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      maxAttempts: 2,
    });
  }
  return new S3Client({ ...(target.region ? { region: target.region } : {}), maxAttempts: 2 });
}
