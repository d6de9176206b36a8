/**
 * The agent's `aws:userid` (STS GetCallerIdentity `UserId`): for EC2 instance-profile credentials
 * `<role-id>:<instance-id>`. The agent policy (lib/agent-fleet.ts) lets a host write
 * `agents/${aws:userid}.json` only, so this is the agent id of a deployed agent. One SigV4-signed
 * POST (node:crypto; no STS client in the bundle), with a short timeout.
 */
import { createHash, createHmac } from 'node:crypto';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

const BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

function hex(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** The signed request (exported for the test: a fixed date gives a fixed signature). */
export function signedCallerIdentityRequest(
  credentials: Credentials,
  region: string,
  now: Date,
  host = `sts.${region}.amazonaws.com`,
): { url: string; headers: Record<string, string>; body: string } {
  const amzDate = now.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host,
    'x-amz-date': amzDate,
    ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const canonical = [
    'POST',
    '/',
    '',
    ...names.map((n) => `${n}:${headers[n]}`),
    '',
    names.join(';'),
    hex(BODY),
  ].join('\n');
  const scope = `${date}/${region}/sts/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonical)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, date);
  for (const part of [region, 'sts', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return { url: `https://${host}/`, headers, body: BODY };
}

/** `UserId` from a GetCallerIdentity response, or undefined. */
export function userIdOf(xml: string): string | undefined {
  return /<UserId>([^<]+)<\/UserId>/.exec(xml)?.[1];
}

export async function callerUserId(
  credentials: Credentials,
  region: string,
  timeoutMs = 3000,
): Promise<string | undefined> {
  const request = signedCallerIdentityRequest(credentials, region, new Date());
  try {
    const response = await fetch(request.url, {
      method: 'POST',
      headers: Object.fromEntries(Object.entries(request.headers).filter(([k]) => k !== 'host')),
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return undefined;
    return userIdOf(await response.text());
  } catch {
    return undefined;
  }
}
