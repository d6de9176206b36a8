import { describe, expect, it } from 'vitest';
import { FilterError } from '../../../lambda/core/errors.js';
import {
  isContinuationLine,
  jsonToPlain,
  parsePreprocessSteps,
  preprocessEvent,
  stripAnsi,
} from '../../../lambda/core/filters/preprocess.js';

const ESC = '\u001b';

describe('parsePreprocessSteps', () => {
  it('returns [] for an absent or blank value', () => {
    expect(parsePreprocessSteps(undefined)).toEqual([]);
    expect(parsePreprocessSteps('')).toEqual([]);
    expect(parsePreprocessSteps('  \t ')).toEqual([]);
  });

  it('accepts spaces and commas, dedupes, and returns application order', () => {
    expect(parsePreprocessSteps('firstline json, ansi')).toEqual(['ansi', 'json', 'firstline']);
    expect(parsePreprocessSteps('json json')).toEqual(['json']);
    expect(parsePreprocessSteps('FirstLine')).toEqual(['firstline']);
  });

  it('throws a FilterError naming the option and the unknown step', () => {
    expect(() => parsePreprocessSteps('ansi bogus')).toThrow(FilterError);
    expect(() => parsePreprocessSteps('ansi bogus')).toThrow(/cloudjail_preprocess.*'bogus'/);
  });
});

describe('preprocessEvent without steps', () => {
  it('splits on newlines and drops one trailing empty line', () => {
    expect(preprocessEvent('a\nb\n', [])).toEqual(['a', 'b']);
    expect(preprocessEvent('a\n\nb', [])).toEqual(['a', '', 'b']);
    expect(preprocessEvent('one', [])).toEqual(['one']);
    expect(preprocessEvent('', [])).toEqual([]);
  });

  it('drops a trailing carriage return from each line', () => {
    expect(preprocessEvent('a\r\nb\r\n', [])).toEqual(['a', 'b']);
  });

  it('leaves ANSI escapes and JSON alone', () => {
    const line = `${ESC}[35m{"a":1}`;
    expect(preprocessEvent(line, [])).toEqual([line]);
  });
});

describe('ansi', () => {
  it('removes the colour codes of the FreeSWITCH console (FS-P6)', () => {
    const raw = `${ESC}[m${ESC}[35m2024-04-09 17:06:10.000300 98.90% [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'internal' for [3103@tel.example.com] from ip 192.0.2.154`;
    expect(preprocessEvent(raw, ['ansi'])).toEqual([raw.slice(8)]);
  });

  it('removes colour codes (SGR) and no other escape', () => {
    expect(stripAnsi(`${ESC}[1;31ma${ESC}[0mb${ESC}[m`)).toBe('ab');
    expect(stripAnsi(`a${ESC}[2Kb${ESC}]c`)).toBe(`a${ESC}[2Kb${ESC}]c`);
  });

  it('never removes a character the escape is written in front of (an attacker field)', () => {
    // Before: ESC ] and ESC [ ] were stripped as escape sequences, taking the ] with them.
    for (const raw of [`[a${ESC}]@b] from 192.0.2.1`, `[a${ESC}[]@b] from 192.0.2.1`]) {
      expect(preprocessEvent(raw, ['ansi'])).toEqual([raw]);
    }
    expect(preprocessEvent(`${ESC}[m${ESC}[35muser [a${ESC}]] x${ESC}[m`, ['ansi'])).toEqual([
      `user [a${ESC}]] x`,
    ]);
    // ESC[ then the server's ]: not a colour code, nothing removed.
    expect(preprocessEvent(`user [a${ESC}[] from 192.0.2.1`, ['ansi'])).toEqual([
      `user [a${ESC}[] from 192.0.2.1`,
    ]);
  });
});

describe('json: FreeSWITCH mod_console json=true (FS-P7)', () => {
  const record = {
    host: 'fs-a',
    timestamp: 1712682370000300,
    level: 4,
    ident: 'freeswitch',
    pid: 3120,
    file: 'sofia_reg.c',
    line: 1788,
    function: 'sofia_reg_handle_register_token',
    sequence: 90210,
    message:
      "SIP auth failure (REGISTER) on sofia profile 'internal' for [3104@tel.example.com] from ip 192.0.2.155\n",
  };

  it('becomes a mod_logfile-style line with a UTC date', () => {
    expect(preprocessEvent(JSON.stringify(record), ['json'])).toEqual([
      "2024-04-09 17:06:10.000300Z [WARNING] sofia_reg.c:1788 SIP auth failure (REGISTER) on sofia profile 'internal' for [3104@tel.example.com] from ip 192.0.2.155",
    ]);
  });

  it('maps numeric levels to the names FreeSWITCH prints', () => {
    const lvl = (level: number) =>
      preprocessEvent(JSON.stringify({ ...record, level }), ['json'])[0]?.split(' ')[2];
    expect([0, 1, 2, 3, 4, 5, 6, 7, 9].map(lvl)).toEqual([
      '[CONSOLE]',
      '[ALERT]',
      '[CRIT]',
      '[ERR]',
      '[WARNING]',
      '[NOTICE]',
      '[INFO]',
      '[DEBUG]',
      '[DEBUG]',
    ]);
  });

  it('makes one line of a multi-line message: known continuation lines dropped', () => {
    const multi = {
      ...record,
      message:
        "Can't find user [3107@198.51.100.50] from 192.0.2.158\nYou must define a domain called '198.51.100.50' in your directory and add a user with the id=\"3107\" attribute\nand you must configure your device to use the proper domain in its authentication credentials.\n",
    };
    expect(preprocessEvent(JSON.stringify(multi), ['json'])).toEqual([
      "2024-04-09 17:06:10.000300Z [WARNING] sofia_reg.c:1788 Can't find user [3107@198.51.100.50] from 192.0.2.158",
    ]);
  });

  it('writes any other newline of a message as \\n: an attacker newline forges no line', () => {
    const injected = {
      ...record,
      message: "Can't find user [a@b] from 198.51.100.1\n@tel.example.com] from 192.0.2.158\n",
    };
    expect(preprocessEvent(JSON.stringify(injected), ['json'])).toEqual([
      "2024-04-09 17:06:10.000300Z [WARNING] sofia_reg.c:1788 Can't find user [a@b] from 198.51.100.1\\n@tel.example.com] from 192.0.2.158",
    ]);
  });

  it('unescapes quotes in the message', () => {
    const withQuote = {
      ...record,
      message: 'IP 203.0.113.152 Rejected by register acl "domains"\n',
    };
    expect(preprocessEvent(JSON.stringify(withQuote), ['json'])[0]).toMatch(
      / \[WARNING\] sofia_reg\.c:1788 IP 203\.0\.113\.152 Rejected by register acl "domains"$/,
    );
  });

  it('omits the date when the timestamp is missing', () => {
    const { timestamp: _t, ...noTime } = record;
    expect(preprocessEvent(JSON.stringify(noTime), ['json'])[0]).toMatch(
      /^\[WARNING\] sofia_reg\.c:1788 SIP auth failure/,
    );
  });

  it('is applied after ansi', () => {
    const line = `${ESC}[m${ESC}[35m${JSON.stringify(record)}${ESC}[m`;
    expect(preprocessEvent(line, ['json', 'ansi'])[0]).toMatch(/^2024-04-09 17:06:10\.000300Z /);
  });
});

describe('json: Asterisk [json] formatter (AST-P8)', () => {
  const line =
    '{"hostname":"pbx-b","timestamp":"2024-04-09 17:10:08.700","identifiers":{"lwp":7781,"callid":""},"logmsg":{"location":{"filename":"res_pjsip/pjsip_distributor.c","function":"log_failed_request","line":722},"level":"NOTICE","message":"Request \'REGISTER\' from \'\\"4107\\" <sip:4107@voip.example.net>\' failed for \'203.0.113.167:5060\' (callid: 8d3b2e4f) - Failed to authenticate\\n"}}';

  it('becomes a [plain]-formatter line with the escaped quotes restored', () => {
    expect(preprocessEvent(line, ['json'])).toEqual([
      "[2024-04-09 17:10:08.700] NOTICE[7781]: res_pjsip/pjsip_distributor.c:722 log_failed_request: Request 'REGISTER' from '\"4107\" <sip:4107@voip.example.net>' failed for '203.0.113.167:5060' (callid: 8d3b2e4f) - Failed to authenticate",
    ]);
  });

  it('keeps a call id and falls back to the file-logger location without function', () => {
    const rec = JSON.parse(line);
    rec.identifiers.callid = 'C-00000a11';
    delete rec.logmsg.location.function;
    expect(preprocessEvent(JSON.stringify(rec), ['json'])[0]).toMatch(
      /^\[2024-04-09 17:10:08\.700\] NOTICE\[7781\]\[C-00000a11\]: res_pjsip\/pjsip_distributor\.c: Request /,
    );
  });
});

describe('json: anything else is left unchanged', () => {
  it.each([
    ['not JSON', '{broken'],
    ['array', '[1,2]'],
    ['other object', '{"msg":"hello"}'],
    ['FreeSWITCH without file', '{"level":4,"message":"x"}'],
    ['Asterisk without level', '{"logmsg":{"message":"x","location":{"filename":"a.c"}}}'],
    ['plain line', '2024-04-09 17:05:44.918273 [WARNING] sofia_reg.c:1 x'],
  ])('%s', (_name, input) => {
    expect(preprocessEvent(input, ['json'])).toEqual([input]);
    expect(jsonToPlain(input)).toBeUndefined();
  });
});

describe('multi-line events (FS-P10): every physical line is matched', () => {
  it('yields every line of a multi-line event, whatever the steps', () => {
    const event =
      "2024-04-09 17:06:40.660000 98.70% [WARNING] sofia_reg.c:3210 Can't find user [3107@198.51.100.50] from 192.0.2.158\nrecv 512 bytes from udp/[192.0.2.158]:5060 at 17:06:40.660000:\n   REGISTER sip:198.51.100.50 SIP/2.0";
    expect(preprocessEvent(event, ['ansi', 'json', 'firstline'])).toEqual(event.split('\n'));
    expect(preprocessEvent('first\n\n  \n', [])).toEqual(['first', '', '  ']);
  });

  it('keeps a bare carriage return inside a line (fail2ban splits on \\n only)', () => {
    expect(preprocessEvent('a\rb\r\nc', [])).toEqual(['a\rb', 'c']);
  });

  it('rejects continuation look-alikes with extra text', () => {
    expect(
      isContinuationLine(
        'You must define a domain called \'r\' in your directory and add a user with the id="u" attribute',
      ),
    ).toBe(true);
    expect(
      isContinuationLine(
        'You must define a domain called \'r\' in your directory and add a user with the id="u" attribute] from 192.0.2.1',
      ),
    ).toBe(false);
  });

  it('yields nothing for an empty event', () => {
    expect(preprocessEvent('', ['ansi', 'json'])).toEqual([]);
  });
});
