/** HeartbeatSink on S3: PutObject `agents/<agentId>.json` (the IAM grant covers that key only). */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type AgentHeartbeat, HEARTBEAT_PREFIX } from '../../lambda/core/ban-list/heartbeat.js';
import type { HeartbeatSink } from '../ports.js';

export function heartbeatKey(agentId: string): string {
  return `${HEARTBEAT_PREFIX}${agentId}.json`;
}

export class S3HeartbeatSink implements HeartbeatSink {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async put(heartbeat: AgentHeartbeat): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: heartbeatKey(heartbeat.agentId),
        Body: JSON.stringify(heartbeat),
        ContentType: 'application/json',
      }),
    );
  }
}
