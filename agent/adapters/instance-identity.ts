/**
 * Who this host is: the EC2 instance id from IMDSv2 (token PUT, then GET), each request with a
 * short timeout so the agent never hangs off EC2; else undefined (the caller uses the hostname).
 */
const IMDS = 'http://169.254.169.254/latest';

export async function ec2InstanceId(timeoutMs = 1000): Promise<string | undefined> {
  try {
    const token = await fetch(`${IMDS}/api/token`, {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!token.ok) return undefined;
    const id = await fetch(`${IMDS}/meta-data/instance-id`, {
      headers: { 'X-aws-ec2-metadata-token': await token.text() },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!id.ok) return undefined;
    const text = (await id.text()).trim();
    return /^i-[0-9a-f]{8,17}$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}
