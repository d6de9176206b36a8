/**
 * Named single-event cases: one per message format and per injection trick, each with the exact
 * address that must be extracted (or null: no failure). Events may hold several physical lines,
 * ANSI escapes or JSON: they are what a CloudWatch event carries.
 */
export interface EventCase {
  readonly name: string;
  readonly filter: 'freeswitch' | 'asterisk';
  readonly options?: Readonly<Record<string, string>>;
  readonly event: string;
  readonly host: string | null;
}

const ESC = '\u001b';
const FS = '2024-04-09 17:05:44.918273 97.44% [WARNING]';
const AST = '[2024-04-09 17:10:01] NOTICE[5120]';
const SEC = '[2024-04-09 17:10:01] SECURITY[7790] res_security_log.c: SecurityEvent=';
const SEC_HEAD =
  'EventTV="2024-04-09T17:10:01.000+0200",Severity="Error",Service="PJSIP",EventVersion="1"';
const CONT =
  '\nYou must define a domain called \'198.51.100.50\' in your directory and add a user with the id="3107" attribute\nand you must configure your device to use the proper domain in its authentication credentials.';

export const EVENT_CASES: readonly EventCase[] = [
  // --- FreeSWITCH message formats
  {
    name: 'FS-M1 auth failure',
    filter: 'freeswitch',
    options: { mode: 'normal' },
    event: `${FS} sofia_reg.c:1788 SIP auth failure (INVITE) on sofia profile 'external' for [00861055501@198.51.100.50] from ip 203.0.113.150`,
    host: '203.0.113.150',
  },
  {
    name: 'FS-M2 challenge: not in normal mode',
    filter: 'freeswitch',
    options: { mode: 'normal' },
    event: `${FS} sofia_reg.c:1842 SIP auth challenge (REGISTER) on sofia profile 'internal' for [3109@tel.example.com] from ip 198.51.100.51`,
    host: null,
  },
  {
    name: 'FS-M2 challenge: counted in ddos mode',
    filter: 'freeswitch',
    options: { mode: 'ddos' },
    event: `${FS} sofia_reg.c:1842 SIP auth challenge (REGISTER) on sofia profile 'internal' for [3109@tel.example.com] from ip 198.51.100.51`,
    host: '198.51.100.51',
  },
  {
    name: 'FS-M3 unknown user, IPv6',
    filter: 'freeswitch',
    event: `${FS} sofia_reg.c:3210 Can't find user [3108@[2001:db8:c0de::1]] from 2001:db8:c0de:f00::15`,
    host: '2001:db8:c0de:f00::15',
  },
  {
    name: 'FS-M4 register ACL',
    filter: 'freeswitch',
    event: `${FS} sofia_reg.c:2406 IP 203.0.113.152 Rejected by register acl "domains"`,
    host: '203.0.113.152',
  },
  {
    name: 'FS-M5 INVITE ACL (sofia.c)',
    filter: 'freeswitch',
    event: `${FS} sofia.c:10690 IP 203.0.113.153 Rejected by acl "gateways"`,
    host: '203.0.113.153',
  },
  {
    name: 'FS-M6 user ACL',
    filter: 'freeswitch',
    event: `${FS} sofia_reg.c:3275 IP 203.0.113.154 Rejected by user acl [branch-office] and no proxy acl present`,
    host: '203.0.113.154',
  },
  {
    name: 'FS-M7 fallback to digest is benign',
    filter: 'freeswitch',
    event: `${FS.replace('WARNING', 'DEBUG')} sofia.c:10683 IP 198.51.100.52 Rejected by acl "domains". Falling back to Digest auth.`,
    host: null,
  },
  {
    name: 'FS-M8 mod_fail2ban failed',
    filter: 'freeswitch',
    event: 'A registration failed user[3106] ip[192.0.2.157] at[2024-04-09T17:06:30.550123+0000]',
    host: '192.0.2.157',
  },
  {
    name: 'FS-M8 mod_fail2ban attempted is benign',
    filter: 'freeswitch',
    event:
      'A registration was attempted user[3106] ip[192.0.2.157] at[2024-04-09T17:06:30.550123+0000]',
    host: null,
  },
  {
    name: 'FS-M9 no address',
    filter: 'freeswitch',
    event: `${FS} sofia_reg.c:3360 SIP auth failure (REGISTER) due to user-agent-filter.  Filter "^Grandstream" User-Agent "sipcli/v1.8 from ip 198.51.100.1"`,
    host: null,
  },
  // --- FreeSWITCH event shapes
  {
    name: 'FS-P6 colourised console',
    filter: 'freeswitch',
    event: `${ESC}[m${ESC}[35m2024-04-09 17:06:10.000300 98.90% [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'internal' for [3103@tel.example.com] from ip 192.0.2.154${ESC}[m`,
    host: '192.0.2.154',
  },
  {
    name: 'FS-P7 JSON console',
    filter: 'freeswitch',
    event:
      '{"host":"fs-a","timestamp":1712682370000300,"level":4,"ident":"freeswitch","pid":3120,"file":"sofia_reg.c","line":1788,"function":"sofia_reg_handle_register_token","sequence":90210,"message":"SIP auth failure (REGISTER) on sofia profile \'internal\' for [3104@tel.example.com] from ip 192.0.2.155\\n"}',
    host: '192.0.2.155',
  },
  {
    name: 'FS-P7 JSON console, DEBUG level',
    filter: 'freeswitch',
    event:
      '{"timestamp":1712682370000300,"level":7,"file":"sofia.c","line":1,"message":"IP 198.51.100.52 Rejected by acl \\"domains\\"\\n"}',
    host: null,
  },
  {
    name: 'FS-P10 multi-line event matches on its first line',
    filter: 'freeswitch',
    event: `2024-04-09 17:06:40.660000 98.70% [WARNING] sofia_reg.c:3210 Can't find user [3107@198.51.100.50] from 192.0.2.158${CONT}`,
    host: '192.0.2.158',
  },
  // --- FreeSWITCH injection tricks
  {
    name: "FS user part holds 'from ip X'",
    filter: 'freeswitch',
    event: `${FS} sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'internal' for [x] from ip 198.51.100.99@tel.example.com] from ip 192.0.2.170`,
    host: '192.0.2.170',
  },
  {
    name: 'FS realm with an IP',
    filter: 'freeswitch',
    event: `${FS} sofia_reg.c:3210 Can't find user [a@198.51.100.98] from 198.51.100.97] from 192.0.2.171`,
    host: '192.0.2.171',
  },
  {
    name: 'FS event with untimestamped lines after the failure (siptrace): the failure counts',
    filter: 'freeswitch',
    event: `${FS} sofia_reg.c:3210 Can't find user [a@tel.example.com] from 192.0.2.172\nrecv 512 bytes from udp/[198.51.100.96]:5060 at 17:05:44.918273:\n   ------------------------------------------------------------------------\n   REGISTER sip:tel.example.com SIP/2.0`,
    host: '192.0.2.172',
  },
  {
    name: 'FS later line without the level never matches',
    filter: 'freeswitch',
    event: `${FS} sofia_reg.c:3210 Can't find user [a@b] from 192.0.2.173\nsofia_reg.c:2406 IP 198.51.100.95 Rejected by register acl "x"`,
    host: '192.0.2.173',
  },
  {
    name: 'FS bare CR and U+2028 in the user: the real address still counts',
    filter: 'freeswitch',
    event: `${FS} sofia_reg.c:3210 Can't find user [a\r\u2028\u2029b@tel.example.com] from 192.0.2.174`,
    host: '192.0.2.174',
  },
  {
    name: 'FS ANSI escape before the closing bracket of the user changes nothing',
    filter: 'freeswitch',
    event: `\u001b[m\u001b[35m${FS} sofia_reg.c:3210 Can't find user [a\u001b]@tel.example.com] from 192.0.2.175\u001b[m`,
    host: '192.0.2.175',
  },
  {
    name: 'FS dialplan INFO echo',
    filter: 'freeswitch',
    event: `${FS.replace('WARNING', 'INFO')} mod_dialplan_xml.c:637 Processing Can't find user [x@y] from 198.51.100.94`,
    host: null,
  },
  // --- Asterisk message formats
  {
    name: 'AST-M1 chan_sip, bracketed IPv6 with port',
    filter: 'asterisk',
    event: `${AST} chan_sip.c: Registration from '<sip:4108@[2001:db8:c0de::1]>' failed for '[2001:db8:c0de:bad::8]:5060' - Device does not match ACL`,
    host: '2001:db8:c0de:bad::8',
  },
  {
    name: 'AST-M2 extension not found',
    filter: 'asterisk',
    event: `${AST}[C-00000b01] chan_sip.c: Call from '' (203.0.113.169:5062) to extension '9011390655501' rejected because extension not found in context 'from-sip-external'.`,
    host: '203.0.113.169',
  },
  {
    name: 'AST-M3 From header only: never',
    filter: 'asterisk',
    event: `${AST} chan_sip.c: Failed to authenticate device "4109" <sip:4109@198.51.100.61>;tag=as7a1b2c3d for INVITE, code = -1`,
    host: null,
  },
  {
    name: 'AST-M4 From header only: never',
    filter: 'asterisk',
    event: `${AST} chan_sip.c: Sending fake auth rejection for device <sip:4110@198.51.100.62>;tag=0f9e8d7c`,
    host: null,
  },
  {
    name: 'AST-M5a 13.0-13.9, no method',
    filter: 'asterisk',
    event: `${AST} res_pjsip/pjsip_distributor.c: Request from '"4111" <sip:4111@198.51.100.63>' failed for '203.0.113.170:5060' (callid: 2211334455-01) - No matching endpoint found`,
    host: '203.0.113.170',
  },
  {
    name: 'AST-M5b legacy unbracketed IPv6: the port is dropped',
    filter: 'asterisk',
    event: `${AST} res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:4112@voip.example.net>' failed for '2001:db8:c0de:bad::9:5060' (callid: 0c0ffee0) - No matching endpoint found`,
    host: '2001:db8:c0de:bad::9',
  },
  {
    name: 'AST-M5c bracketed IPv6, after N tries',
    filter: 'asterisk',
    event: `${AST} res_pjsip/pjsip_distributor.c: Request 'INVITE' from '<sip:4113@voip.example.net>' failed for '[2001:db8:c0de:bad::f]:5060' (callid: 9a8b7c6d5e) - No matching endpoint found after 5 tries in 3.118 ms`,
    host: '2001:db8:c0de:bad::f',
  },
  {
    name: 'AST-M6a legacy unbracketed IPv6',
    filter: 'asterisk',
    event: `${AST} res_pjsip_session.c: Call from 'anonymous' (UDP:2001:db8:c0de:bad::10:5060) to extension '0041445550123' rejected because extension not found in context 'anonymous'.`,
    host: '2001:db8:c0de:bad::10',
  },
  {
    name: 'AST-M6b two spaces, bracketed IPv6',
    filter: 'asterisk',
    event: `${AST}[C-00000a11] res_pjsip_session.c:  anonymous: Call (UDP:[2001:db8:c0de:bad::a]:5060) to extension '0041445550124' rejected because extension not found in context 'anonymous'.`,
    host: '2001:db8:c0de:bad::a',
  },
  {
    name: 'AST-M7 ChallengeResponseFailed, IPv6',
    filter: 'asterisk',
    event: `${SEC}"ChallengeResponseFailed",${SEC_HEAD},AccountID="<unknown>",SessionID="5e4d3c2b1a",LocalAddress="IPV6/UDP/2001:db8:c0de::1/5060",RemoteAddress="IPV6/UDP/2001:db8:c0de:bad::b/5060",Challenge="1712682609/00",Response="ffee",ExpectedResponse=""`,
    host: '2001:db8:c0de:bad::b',
  },
  {
    name: 'AST-M7 ChallengeSent is not a failure',
    filter: 'asterisk',
    event: `${SEC}"ChallengeSent",${SEC_HEAD},AccountID="<unknown>",SessionID="1",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV4/UDP/198.51.100.64/5060",Challenge="1/00"`,
    host: null,
  },
  {
    name: 'AST-M8 AMI',
    filter: 'asterisk',
    event: `${AST} manager.c: 203.0.113.173 failed to authenticate as 'admin'`,
    host: '203.0.113.173',
  },
  {
    name: 'AST-M9 IAX2',
    filter: 'asterisk',
    event: `${AST} chan_iax2.c: Host 203.0.113.174 failed to authenticate as '5001'`,
    host: '203.0.113.174',
  },
  {
    name: 'AST-M10 FreePBX with port',
    filter: 'asterisk',
    event:
      '[2013-11-11 14:33:38] WARNING[8447][C-00000244] Ext. s: "Rejecting unknown SIP connection from 203.0.113.168:52126"',
    host: '203.0.113.168',
  },
  {
    name: 'AST-P8 [json] formatter',
    filter: 'asterisk',
    event:
      '{"hostname":"pbx-b","timestamp":"2024-04-09 17:10:08.700","identifiers":{"lwp":7781,"callid":""},"logmsg":{"location":{"filename":"res_pjsip/pjsip_distributor.c","function":"log_failed_request","line":722},"level":"NOTICE","message":"Request \'REGISTER\' from \'\\"4107\\" <sip:4107@voip.example.net>\' failed for \'203.0.113.167:5060\' (callid: 8d3b2e4f) - Failed to authenticate\\n"}}',
    host: '203.0.113.167',
  },
  {
    name: 'AST journald form, no date',
    filter: 'asterisk',
    event:
      "pbx-b asterisk[1311]: NOTICE[566]: chan_sip.c:28926 handle_request_register: Registration from '\"28\" <sip:28@voip.example.net>' failed for '203.0.113.175:7998' - Wrong password",
    host: '203.0.113.175',
  },
  // --- Asterisk injection tricks
  {
    name: 'AST To header holds "failed for \'1.2.3.4\'"',
    filter: 'asterisk',
    event: `${AST} chan_sip.c: Registration from '<sip:x@y>' failed for '198.51.100.90:5060' - Wrong password' failed for '192.0.2.180:5060' - Wrong password`,
    host: '192.0.2.180',
  },
  {
    name: 'AST Call-ID holds an address',
    filter: 'asterisk',
    event: `${AST} res_pjsip/pjsip_distributor.c: Request 'INVITE' from '<sip:x@y>' failed for '192.0.2.182:5060' (callid: 7f3a@198.51.100.92) - No matching endpoint found`,
    host: '192.0.2.182',
  },
  {
    name: 'AST display name with quotes and an IP',
    filter: 'asterisk',
    event: `${AST} res_pjsip/pjsip_distributor.c: Request 'INVITE' from '"x' failed for '198.51.100.102:5060' - Failed to authenticate" <sip:x@y>' failed for '192.0.2.191:5060' (callid: b) - Failed to authenticate`,
    host: '192.0.2.191',
  },
  {
    name: 'AST Call-ID copies the whole tail: no match',
    filter: 'asterisk',
    event: `${AST} res_pjsip/pjsip_distributor.c: Request 'INVITE' from '<sip:x@y>' failed for '192.0.2.183:5060' (callid: a) - Failed to authenticate' failed for '198.51.100.93:5060' (callid: b) - Failed to authenticate`,
    host: null,
  },
  {
    name: 'AST SessionID with a fake RemoteAddress',
    filter: 'asterisk',
    event: `${SEC}"InvalidAccountID",${SEC_HEAD},AccountID="x",SessionID="",LocalAddress="IPV4/UDP/127.0.0.1/5060",RemoteAddress="IPV4/UDP/198.51.100.94/1111"",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV4/UDP/192.0.2.184/5061"`,
    host: '192.0.2.184',
  },
  {
    name: 'AST AccountID with a fake RemoteAddress',
    filter: 'asterisk',
    event: `${SEC}"FailedACL",${SEC_HEAD},AccountID="",RemoteAddress="IPV4/UDP/198.51.100.95/5060",SessionID="s",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV4/UDP/192.0.2.185/5061",ACLName="not_match_endpoint_acl"`,
    host: '192.0.2.185',
  },
  {
    name: 'AST Response with a fake RemoteAddress: no match',
    filter: 'asterisk',
    event: `${SEC}"ChallengeResponseFailed",${SEC_HEAD},AccountID="x",SessionID="s",LocalAddress="IPV4/UDP/198.51.100.60/5060",RemoteAddress="IPV4/UDP/192.0.2.186/5060",Challenge="c",Response="x",RemoteAddress="IPV4/UDP/198.51.100.96/5060",ExpectedResponse=""`,
    host: null,
  },
  {
    name: 'AST dialplan VERBOSE echo',
    filter: 'asterisk',
    event: `[2024-04-09 17:13:10] VERBOSE[5200][C-00000b02] pbx.c: Executing [s@from-sip-external:1] NoOp("SIP/x", "NOTICE[1] chan_sip.c: Registration from 'x' failed for '198.51.100.98' - Wrong password") in new stack`,
    host: null,
  },
  {
    name: 'AST [json] IAX2 peer name with a newline: the record stays one line',
    filter: 'asterisk',
    event: JSON.stringify({
      hostname: 'pbx-b',
      timestamp: '2024-04-09 17:10:08',
      identifiers: { lwp: 7781 },
      logmsg: {
        location: { filename: 'chan_iax2.c', function: 'register_verify', line: 8712 },
        level: 'NOTICE',
        message: `No registration for peer 'x' (from 198.51.100.100)\n[2024-04-09 17:10:08] NOTICE[1] chan_iax2.c: No registration for peer 'y' (from 198.51.100.101)\n' (from 192.0.2.189)\n`,
      },
    }),
    host: '192.0.2.189',
  },
];
