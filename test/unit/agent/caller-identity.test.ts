import { describe, expect, it } from 'vitest';
import { signedCallerIdentityRequest, userIdOf } from '../../../agent/adapters/caller-identity.js';

describe('caller identity (agent id = aws:userid)', () => {
  const creds = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };
  const at = new Date('2026-12-07T23:30:00.000Z');

  it('signs GetCallerIdentity with SigV4 for the regional STS endpoint', () => {
    const r = signedCallerIdentityRequest(creds, 'eu-west-1', at);
    expect(r.url).toBe('https://sts.eu-west-1.amazonaws.com/');
    expect(r.body).toBe('Action=GetCallerIdentity&Version=2011-06-15');
    expect(r.headers['x-amz-date']).toBe('20261207T233000Z');
    expect(r.headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261207\/eu-west-1\/sts\/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    // Deterministic: same input, same signature; another secret, another one.
    expect(signedCallerIdentityRequest(creds, 'eu-west-1', at).headers['authorization']).toBe(
      r.headers['authorization'],
    );
    expect(
      signedCallerIdentityRequest({ ...creds, secretAccessKey: 'other' }, 'eu-west-1', at).headers[
        'authorization'
      ],
    ).not.toBe(r.headers['authorization']);
  });

  it('signs the session token of instance-role credentials', () => {
    const r = signedCallerIdentityRequest({ ...creds, sessionToken: 'token' }, 'eu-west-1', at);
    expect(r.headers['x-amz-security-token']).toBe('token');
    expect(r.headers['authorization']).toContain(
      'SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,',
    );
  });

  it('reads UserId (role-id:instance-id) from the response', () => {
    const xml =
      '<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/sbc/i-0abc</Arn><UserId>AROAEXAMPLEID:i-0123456789abcdef0</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>';
    expect(userIdOf(xml)).toBe('AROAEXAMPLEID:i-0123456789abcdef0');
    expect(userIdOf('<Error/>')).toBeUndefined();
  });
});
