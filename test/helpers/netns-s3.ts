/**
 * Helper process for tests that run inside a network namespace: starts the local S3 endpoint
 * (local/s3-endpoint.ts) on that namespace's loopback, prints `{"endpoint","bucket"}` as its first
 * stdout line, then executes one JSON command per stdin line and answers one JSON line each:
 * `{"op":"put","key","body"(base64)}` → `{"ok":true,"etag"}`, `{"op":"get","key"}` →
 * `{"ok":true,"body"(base64)}`. Run as `ip netns exec NS node --import tsx test/helpers/netns-s3.ts`.
 */
import { createInterface } from 'node:readline';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startLocalS3 } from '../../local/s3-endpoint.js';

const s3 = await startLocalS3();
const client = s3.client();
process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint, bucket: s3.bucket })}\n`);

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  try {
    const cmd = JSON.parse(line) as { op: string; key: string; body?: string };
    if (cmd.op === 'put') {
      const out = await client.send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: cmd.key,
          Body: Buffer.from(cmd.body ?? '', 'base64'),
        }),
      );
      process.stdout.write(`${JSON.stringify({ ok: true, etag: out.ETag })}\n`);
    } else if (cmd.op === 'get') {
      const out = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: cmd.key }));
      const body = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
      process.stdout.write(`${JSON.stringify({ ok: true, body: body.toString('base64') })}\n`);
    } else throw new Error(`unknown op ${cmd.op}`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: (e as Error).message })}\n`);
  }
}
await s3.stop();
