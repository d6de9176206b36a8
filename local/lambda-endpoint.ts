/**
 * A local Lambda Invoke endpoint: a `node:http` server on 127.0.0.1 answering the Lambda REST API's
 * `POST /2015-03-31/functions/{name}/invocations` for in-process functions, so the CLI's `--local`
 * mode invokes the enforcer exactly as it does a deployed one (the real `@aws-sdk/client-lambda`,
 * `RequestResponse` and `Event` invocations, `X-Amz-Function-Error` on a failure).
 *
 * Invocations of one function run one at a time, in arrival order: the local twin of the enforcer's
 * reserved concurrency of 1 (architecture invariant 1). With `throttleWhenBusy`, a synchronous
 * (`RequestResponse`) invocation arriving while the function runs is refused as AWS refuses it at
 * reserved concurrency 1: HTTP 429 `TooManyRequestsException` (Reason
 * `ReservedFunctionConcurrentInvocationLimitExceeded`); asynchronous (`Event`) invocations are
 * queued either way, as Lambda's internal queue does.
 *
 * Not modelled: authentication (signatures are not checked), qualifiers, payload size limits other
 * than a 6 MB cap, logs (`LogType`).
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from './loopback-server.js';

export type LocalFunction = (event: unknown) => Promise<unknown>;

export interface LocalLambda {
  readonly endpoint: string;
  /** Runs a function through the same queue as HTTP invocations (e.g. a schedule). */
  invoke(name: string, event: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

const MAX_PAYLOAD = 6 * 1024 * 1024;
const PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_PAYLOAD) reject(new Error('payload too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

function userError(res: ServerResponse, status: number, type: string, message: string) {
  send(res, status, { Type: 'User', message }, { 'x-amzn-errortype': type });
}

export interface LocalLambdaOptions {
  /** Refuse a synchronous invoke while the function runs (AWS at reserved concurrency 1). */
  readonly throttleWhenBusy?: boolean;
}

export async function startLocalLambda(
  functions: Readonly<Record<string, LocalFunction>>,
  options: LocalLambdaOptions = {},
): Promise<LocalLambda> {
  const queues = new Map<string, Promise<unknown>>();
  const inFlight = new Map<string, number>();
  const invoke = (name: string, event: unknown): Promise<unknown> => {
    const fn = functions[name];
    if (!fn) return Promise.reject(new Error(`Function not found: ${name}`));
    const previous = queues.get(name) ?? Promise.resolve();
    inFlight.set(name, (inFlight.get(name) ?? 0) + 1);
    const done = () => inFlight.set(name, (inFlight.get(name) ?? 1) - 1);
    const run = previous
      .then(
        () => fn(event),
        () => fn(event),
      )
      .finally(done);
    queues.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  };

  const server = createServer((req, res) => {
    const match = PATH.exec(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (req.method !== 'POST' || !match) {
      userError(
        res,
        404,
        'UnknownOperationException',
        `no such operation: ${req.method} ${req.url}`,
      );
      return;
    }
    const name = decodeURIComponent(match[1] ?? '');
    if (!functions[name]) {
      userError(res, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
      return;
    }
    readBody(req)
      .then(async (body) => {
        let event: unknown = {};
        if (body.trim() !== '') {
          try {
            event = JSON.parse(body);
          } catch {
            userError(
              res,
              400,
              'InvalidRequestContentException',
              'Could not parse request body into json',
            );
            return;
          }
        }
        if (req.headers['x-amz-invocation-type'] === 'Event') {
          invoke(name, event).catch(() => undefined);
          send(res, 202, undefined);
          return;
        }
        if (options.throttleWhenBusy && (inFlight.get(name) ?? 0) > 0) {
          send(
            res,
            429,
            {
              Type: 'User',
              message: 'Rate Exceeded.',
              Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
            },
            { 'x-amzn-errortype': 'TooManyRequestsException' },
          );
          return;
        }
        try {
          const result = await invoke(name, event);
          send(res, 200, result ?? null, { 'x-amz-executed-version': '$LATEST' });
        } catch (e) {
          const error = e instanceof Error ? e : new Error(String(e));
          send(
            res,
            200,
            { errorType: error.name, errorMessage: error.message },
            { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' },
          );
        }
      })
      .catch((e: Error) => userError(res, 413, 'RequestTooLargeException', e.message));
  });
  const endpoint = await listenOnLoopback(server);
  return {
    endpoint,
    invoke,
    async stop() {
      await Promise.allSettled([...queues.values()]);
      await closeServer(server);
    },
  };
}
