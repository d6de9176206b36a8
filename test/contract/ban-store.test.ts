/** Runs the BanStore contract on the in-memory store and on the DynamoDB store over dynalite. */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { DynamoDbBanStore } from '../../lambda/adapters/dynamodb-ban-store.js';
import { createTableInput } from '../../lambda/adapters/dynamodb-table.js';
import { MemoryBanStore } from '../../lambda/adapters/memory-ban-store.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../local/embedded-dynamodb.js';
import { banStoreContract } from './ban-store.contract.js';

banStoreContract('MemoryBanStore', async () => new MemoryBanStore());

let db: EmbeddedDynamoDb;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb('contract-seed');
  client = db.client();
});
afterAll(async () => {
  await db?.stop();
});

banStoreContract('DynamoDbBanStore on dynalite', async () => {
  // A fresh table per test: tests are independent and need no cleanup.
  const name = `contract-${++tables}`;
  await client.send(new CreateTableCommand(createTableInput(name)));
  return new DynamoDbBanStore(client, name);
});
