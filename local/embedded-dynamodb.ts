/**
 * An in-process DynamoDB engine (dynalite, in-memory) on 127.0.0.1 with an ephemeral port, and the
 * cloudjail table created in it. Used by tests, benchmarks and the embedded `npm start` mode; the
 * real `@aws-sdk/client-dynamodb` talks to it over HTTP.
 */

import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput } from '../lambda/adapters/dynamodb-table.js';
import { LOCAL_CREDENTIALS, listenOnLoopback } from './loopback-server.js';

export interface EmbeddedDynamoDb {
  readonly endpoint: string;
  readonly tableName: string;
  /** A client for this engine (dummy credentials, loopback only). */
  client(): DynamoDBClient;
  stop(): Promise<void>;
}

export async function startEmbeddedDynamoDb(tableName = 'cloudjail'): Promise<EmbeddedDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const endpoint = await listenOnLoopback(server);
  const clients: DynamoDBClient[] = [];
  const client = () => {
    const c = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 3,
    });
    clients.push(c);
    return c;
  };
  const admin = client();
  await admin.send(new CreateTableCommand(createTableInput(tableName)));
  return {
    endpoint,
    tableName,
    client,
    async stop() {
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
