/**
 * The embedded pipeline's service backend: dynalite (the DynamoDB engine in process), the local
 * EC2 endpoint and the local S3 API, reached through the real AWS SDK clients over HTTP
 * (`npm start`, `cloudjail local`, `replay --store dynamodb`). A module of its own so the
 * in-memory replay never loads them.
 */
import { DynamoDbBanStore } from '../lambda/adapters/dynamodb-ban-store.js';
import { DynamoDbFailureWindows } from '../lambda/adapters/dynamodb-failure-windows.js';
import { Ec2NetworkAcls } from '../lambda/adapters/ec2-network-acls.js';
import { S3BanListPublisher } from '../lambda/adapters/s3-ban-list-publisher.js';
import type { CloudjailConfig } from '../lambda/config/cloudjail-config.js';
import { type LocalEc2, startLocalEc2 } from './ec2-endpoint.js';
import type { Backend } from './embedded.js';
import { startEmbeddedDynamoDb } from './embedded-dynamodb.js';
import { type LocalS3, startLocalS3 } from './s3-endpoint.js';
import { sampleAcl } from './sample-acl.js';

export async function serviceBackend(config: CloudjailConfig): Promise<Backend> {
  const dynamodb = await startEmbeddedDynamoDb();
  let ec2: LocalEc2;
  try {
    ec2 = await startLocalEc2({
      acls: config.targets.map((t) => sampleAcl(t.naclId)),
      ruleQuota: config.enforcement.ruleQuota,
    });
  } catch (e) {
    await dynamodb.stop();
    throw e;
  }
  let s3: LocalS3;
  try {
    s3 = await startLocalS3();
  } catch (e) {
    await Promise.all([ec2.stop(), dynamodb.stop()]);
    throw e;
  }
  const client = dynamodb.client();
  return {
    dynamodb,
    ec2,
    s3,
    banList: new S3BanListPublisher({ client: s3.client(), bucket: s3.bucket }),
    store: new DynamoDbBanStore(client, dynamodb.tableName),
    failures: new DynamoDbFailureWindows(client, dynamodb.tableName),
    nacls: new Ec2NetworkAcls({ client: ec2.client() }),
    entries: (naclId) => ec2.entries(naclId),
    async stop() {
      await Promise.all([ec2.stop(), dynamodb.stop(), s3.stop()]);
    },
  };
}
