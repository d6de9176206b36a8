import { describe, expect, it } from 'vitest';
import {
  FilterPatternError,
  parseFilterPattern,
} from '../../../lambda/core/logs/filter-pattern.js';
import { subscriptionFilterPattern } from '../../../lib/filter-patterns.js';

const m = (pattern: string, message: string) => parseFilterPattern(pattern).matches(message);

describe('CloudWatch Logs filter patterns (unstructured events)', () => {
  it('an empty pattern matches every event', () => {
    expect(m('', 'anything')).toBe(true);
    expect(m('   ', '')).toBe(true);
  });

  it('terms are all required, case-sensitive, whole words', () => {
    expect(m('ERROR Exception', '[ERROR] an Exception here')).toBe(true);
    expect(m('ERROR Exception', '[ERROR] all fine')).toBe(false);
    expect(m('ERROR', 'error lower case')).toBe(false);
    expect(m('ERROR', 'ERRORS glued')).toBe(false);
    expect(m('ERROR', 'x=ERROR;')).toBe(true);
  });

  it('?terms are alternatives; mixed with plain terms they add one required alternative', () => {
    expect(m('?ERROR ?WARN', 'a WARN line')).toBe(true);
    expect(m('?ERROR ?WARN', 'an INFO line')).toBe(false);
    expect(m('sofia ?REGISTER ?INVITE', 'sofia INVITE')).toBe(true);
    expect(m('sofia ?REGISTER ?INVITE', 'sofia OPTIONS')).toBe(false);
    expect(m('sofia ?REGISTER ?INVITE', 'pjsip INVITE')).toBe(false);
  });

  it('-terms exclude', () => {
    expect(m('ERROR -DEBUG', 'ERROR in DEBUG')).toBe(false);
    expect(m('ERROR -DEBUG', 'ERROR in prod')).toBe(true);
    expect(m('-"health check"', 'GET /health check ok')).toBe(false);
  });

  it('quoted phrases match as a whole, with any characters', () => {
    expect(m('"failed for"', "Registration from '<sip:1@x>' failed for '1.2.3.4'")).toBe(true);
    expect(m('"failed for"', 'failed, for')).toBe(false);
    expect(m('"a \\"q\\""', 'say a "q" now')).toBe(true);
  });

  it('%regex% matches anywhere, case-sensitive', () => {
    expect(m('%AUTHORIZED%', '[ERROR 401] UNAUTHORIZED REQUEST')).toBe(true);
    expect(m('%[Ee]rror|[Ff]ail%', 'a failure')).toBe(true);
    expect(m('%^[hc]at%', 'that')).toBe(false);
    expect(m('%\\d{1,3}\\.\\d{1,3}%', 'from 10.2')).toBe(true);
    expect(parseFilterPattern('%x%').isRegex).toBe(true);
  });

  it('the stack patterns (lib/filter-patterns.ts) parse and behave as patternMatches says', () => {
    const p = parseFilterPattern(subscriptionFilterPattern(['freeswitch']));
    expect(p.matches('2024-11-05 03:12:01.310422 [WARNING] sofia_reg.c:1842 SIP auth')).toBe(true);
    expect(p.matches('2024-11-05 03:11:58 [NOTICE] switch_core.c:2533 FreeSWITCH Started')).toBe(
      false,
    );
  });

  it('bad patterns are refused with the reason', () => {
    expect(() => parseFilterPattern('%(a|b)%')).toThrow(FilterPatternError);
    expect(() => parseFilterPattern('%(a|b)%')).toThrow(/"\(" is not allowed/);
    expect(() => parseFilterPattern('%a!%')).toThrow(/not allowed/);
    expect(() => parseFilterPattern('"open')).toThrow(/unterminated/);
    expect(() => parseFilterPattern('{ $.level = "x" }')).toThrow(/JSON/);
    expect(() => parseFilterPattern('ERROR -')).toThrow(/no term/);
  });
});
