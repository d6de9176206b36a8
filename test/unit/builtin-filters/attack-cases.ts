/**
 * Line templates with one attacker-controlled field each, for the property tests: whatever text
 * the attacker puts there, a filter may extract only the address the server wrote (`real`), or
 * nothing. Shared by the fail2ban-oracle test and the engine test.
 */
import fc from 'fast-check';

/** One template: the filter, its options, and the line built from attacker text + real address. */
export interface AttackCase {
  readonly name: string;
  readonly filter: 'freeswitch' | 'asterisk';
  readonly options?: Readonly<Record<string, string>>;
  /** Whether the line must match when the attacker text is harmless (sanity check). */
  readonly matchesClean: boolean;
  build(attacker: string, real: string): string;
}

const FS = '2024-04-09 17:05:44.918273 97.44% [WARNING]';
const AST = '[2024-04-09 17:10:01] NOTICE[5120]';
const SEC = '[2024-04-09 17:10:01] SECURITY[7790] res_security_log.c: SecurityEvent=';
const SEC_HEAD =
  'EventTV="2024-04-09T17:10:01.000+0200",Severity="Error",Service="PJSIP",EventVersion="1"';

/** The server-written address in its IPv6 form as Asterisk/FreeSWITCH print it. */
const v6 = (ip: string) => ip.includes(':');
const bracket = (ip: string) => (v6(ip) ? `[${ip}]` : ip);

export const ATTACK_CASES: readonly AttackCase[] = [
  // FreeSWITCH
  ...(['normal', 'extra', 'ddos'] as const).map(
    (mode): AttackCase => ({
      name: `FS auth failure user (mode=${mode})`,
      filter: 'freeswitch',
      options: { mode },
      matchesClean: true,
      build: (a, ip) =>
        `${FS} sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'internal' for [${a}@tel.example.com] from ip ${ip}`,
    }),
  ),
  {
    name: 'FS auth failure realm',
    filter: 'freeswitch',
    matchesClean: true,
    build: (a, ip) =>
      `${FS} sofia_reg.c:1788 SIP auth failure (INVITE) on sofia profile 'external' for [3101@${a}] from ip ${ip}`,
  },
  {
    name: 'FS auth challenge user (mode=extra)',
    filter: 'freeswitch',
    matchesClean: true,
    build: (a, ip) =>
      `${FS} sofia_reg.c:1842 SIP auth challenge (REGISTER) on sofia profile 'internal' for [${a}@tel.example.com] from ip ${ip}`,
  },
  {
    name: "FS Can't find user: user",
    filter: 'freeswitch',
    options: { mode: 'normal' },
    matchesClean: true,
    build: (a, ip) => `${FS} sofia_reg.c:3210 Can't find user [${a}@tel.example.com] from ${ip}`,
  },
  {
    name: "FS Can't find user: realm",
    filter: 'freeswitch',
    matchesClean: true,
    build: (a, ip) => `${FS} sofia_reg.c:3210 Can't find user [3101@${a}] from ${ip}`,
  },
  {
    name: 'FS mod_fail2ban user',
    filter: 'freeswitch',
    matchesClean: true,
    build: (a, ip) =>
      `A registration failed user[${a}] ip[${ip}] at[2024-04-09T17:06:30.550123+0000]`,
  },
  {
    name: 'FS dialplan INFO echo (never matches)',
    filter: 'freeswitch',
    matchesClean: false,
    build: (a, ip) =>
      `${FS.replace('WARNING', 'INFO')} mod_dialplan_xml.c:637 Processing ${a} <${ip}>->1000 in context public`,
  },
  // Asterisk
  {
    name: 'AST chan_sip To header',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${AST} chan_sip.c: Registration from '${a}' failed for '${bracket(ip)}:5060' - Wrong password`,
  },
  {
    name: 'AST PJSIP From display name',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${AST} res_pjsip/pjsip_distributor.c: Request 'INVITE' from '"${a}" <sip:x@voip.example.net>' failed for '${bracket(ip)}:5060' (callid: 0c0ffee0) - Failed to authenticate`,
  },
  {
    name: 'AST PJSIP From URI (legacy unbracketed IPv6)',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${AST} res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:${a}@voip.example.net>' failed for '${ip}:5060' (callid: 0c0ffee0) - No matching endpoint found`,
  },
  {
    name: 'AST PJSIP Call-ID',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${AST} res_pjsip/pjsip_distributor.c: Request 'INVITE' from '<sip:x@voip.example.net>' failed for '${bracket(ip)}:5060' (callid: ${a}) - No matching endpoint found after 5 tries in 3.118 ms`,
  },
  {
    name: 'AST PJSIP method',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${AST} res_pjsip/pjsip_distributor.c: Request '${a}' from '<sip:x@voip.example.net>' failed for '${bracket(ip)}:5060' (callid: 1) - No matching endpoint found`,
  },
  {
    name: 'AST InvalidAccountID AccountID',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${SEC}"InvalidAccountID",${SEC_HEAD},AccountID="${a}",SessionID="a1f3c0de",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV${v6(ip) ? 6 : 4}/UDP/${ip}/5060"`,
  },
  {
    name: 'AST FailedACL SessionID',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${SEC}"FailedACL",${SEC_HEAD},AccountID="",SessionID="${a}",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV${v6(ip) ? 6 : 4}/UDP/${ip}/5060",ACLName="not_match_endpoint_acl"`,
  },
  {
    name: 'AST ChallengeResponseFailed SessionID',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${SEC}"ChallengeResponseFailed",${SEC_HEAD},AccountID="<unknown>",SessionID="${a}",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV${v6(ip) ? 6 : 4}/UDP/${ip}/5060",Challenge="1712682609/00",Response="ffee",ExpectedResponse=""`,
  },
  {
    name: 'AST ChallengeResponseFailed Response',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${SEC}"ChallengeResponseFailed",${SEC_HEAD},AccountID="<unknown>",SessionID="s",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV${v6(ip) ? 6 : 4}/UDP/${ip}/5060",Challenge="1712682609/00",Response="${a}",ExpectedResponse=""`,
  },
  {
    name: 'AST InvalidPassword ReceivedHash',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${SEC}"InvalidPassword",${SEC_HEAD},AccountID="4114",SessionID="0x7f8e",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV${v6(ip) ? 6 : 4}/UDP/${ip}/5084",Challenge="41d26de5",ReceivedChallenge="41d26de5",ReceivedHash="${a}"`,
  },
  {
    name: 'AST AMI user',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) => `${AST} manager.c: ${ip} failed to authenticate as '${a}'`,
  },
  {
    name: 'AST IAX2 peer (Host … failed)',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) => `${AST} chan_iax2.c: Host ${ip} failed to authenticate as '${a}'`,
  },
  {
    name: 'AST IAX2 peer (No registration)',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) => `${AST} chan_iax2.c: No registration for peer '${a}' (from ${ip})`,
  },
  {
    name: 'AST extension not found: extension',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${AST}[C-00000b01] chan_sip.c: Call from '' (${bracket(ip)}:5062) to extension '${a}' rejected because extension not found in context 'from-sip-external'.`,
  },
  {
    name: 'AST PJSIP anonymous Call: extension',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `${AST}[C-00000b01] res_pjsip_session.c:  anonymous: Call (UDP:${bracket(ip)}:5060) to extension '${a}' rejected because extension not found in context 'anonymous'.`,
  },
  {
    name: 'AST FreePBX Ext. exten echo',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `[2021-08-30 02:15:10] WARNING[5200][C-00000b02] Ext. ${a}: "Rejecting unknown SIP connection from ${ip}"`,
  },
  {
    name: 'AST FreePBX Ext. exten echo (syslog form)',
    filter: 'asterisk',
    matchesClean: true,
    build: (a, ip) =>
      `Mar  1 15:35:53 pbx asterisk[2350]: WARNING[1195][C-00000b43]: Ext. ${a}:6 in @ from-sip-external: "Rejecting unknown SIP connection from ${bracket(ip)}:5060"`,
  },
  {
    name: 'AST dialplan VERBOSE echo (never matches)',
    filter: 'asterisk',
    matchesClean: false,
    build: (a, ip) =>
      `[2024-04-09 17:13:10] VERBOSE[5200][C-00000b02] pbx.c: Executing [s@from-sip-external:1] NoOp("SIP/${ip}", "${a}") in new stack`,
  },
];

/** Server-written addresses (documentation ranges). */
export const REAL_ADDRESSES = [
  '192.0.2.1',
  '192.0.2.254',
  '2001:db8::1',
  '2001:db8:c0de:bad::9',
] as const;

/** Text an attacker may inject: other addresses, the sentences' own pieces, quotes, brackets… */
const NASTY_TOKENS = [
  '198.51.100.7',
  '203.0.113.9',
  '2001:db8:bad::6',
  '[2001:db8:bad::6]:5060',
  '198.51.100.7:5060',
  '::ffff:198.51.100.8',
  ' from ip ',
  ' from ',
  'from ip 198.51.100.7',
  '] from ip 198.51.100.7',
  '] from 198.51.100.7',
  "' failed for '198.51.100.7:5060' - Wrong password",
  "' failed for '198.51.100.7:5060' (callid: x) - Failed to authenticate",
  "' failed for '2001:db8:bad::6:5060' (callid: x) - No matching endpoint found",
  "' (callid: ",
  ') - Failed to authenticate',
  ' after 5 tries in 1.000 ms',
  '",RemoteAddress="IPV4/UDP/198.51.100.7/5060',
  '",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV4/UDP/198.51.100.7/5060',
  ',RemoteAddress="IPV6/UDP/2001:db8:bad::6/5060"',
  '",ACLName="x',
  '",ExpectedResponse="',
  '(from 198.51.100.7)',
  "' (from 198.51.100.7)",
  ' ip[198.51.100.7] at[2024-04-09T17:06:30.550123+0000]',
  '] ip[198.51.100.7',
  '"Rejecting unknown SIP connection from 198.51.100.7"',
  ': "Rejecting unknown SIP connection from 198.51.100.7"',
  'Rejected by acl "x"',
  ' (198.51.100.7:5060) to extension ',
  "' rejected because extension not found in context 'x'.",
  'Host 198.51.100.7 failed to authenticate as ',
  '[WARNING] sofia_reg.c:1 ',
  'NOTICE[1] chan_sip.c: ',
  "'",
  '"',
  '[',
  ']',
  '(',
  ')',
  '<',
  '>',
  '@',
  ':',
  ',',
  '=',
  '\\',
  ' ',
  '  ',
  '\t',
  '\r',
  '\u2028',
  '\u2029',
  '\u0085',
  '\u001b[35m',
  '\u001b[m',
  'x',
  'sip',
  '5060',
  'Негодяй',
];

/**
 * Arbitrary attacker text: mostly nasty tokens, sometimes any string. Never a raw newline: in a
 * plain-text log a newline ends the line for fail2ban and for us alike, and the fields these
 * templates fill (SIP headers, AMI user names, Asterisk security event fields) cannot hold one.
 * Fields that can (IAX2 peer names) are safe only in the JSON log formats (docs/filters.md, "Raw
 * newlines in attacker fields"): injection-cases.ts has those events. A bare CR, U+2028 and
 * U+2029 are drawn: Python's `.` (fail2ban's) matches them, and so must ours.
 */
export const attackerText: fc.Arbitrary<string> = fc
  .oneof(
    {
      weight: 4,
      arbitrary: fc
        .array(fc.constantFrom(...NASTY_TOKENS), { maxLength: 8 })
        .map((t) => t.join('')),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  )
  .map((t) => t.replace(/\n/g, '\r'));

export const realAddress: fc.Arbitrary<string> = fc.constantFrom(...REAL_ADDRESSES);
