import { describe, expect, it } from 'vitest';
import { FilterError } from '../../../lambda/core/errors.js';
import { assembleFilter } from '../../../lambda/core/filters/assemble.js';
import { type FilterFileSource, IniConfig, parseIni } from '../../../lambda/core/filters/ini.js';
import { substituteTags } from '../../../lambda/core/filters/tags.js';

/** An in-memory file system for filter files. */
function files(map: Record<string, string>): FilterFileSource {
  return {
    read: (path) => map[path],
    list: (dir) =>
      Object.keys(map)
        .filter((p) => p.startsWith(`${dir}/`))
        .map((p) => p.slice(dir.length + 1))
        .filter((p) => !p.includes('/')),
  };
}

describe('parseIni (Python configparser dialect)', () => {
  it('reads sections, lowercases option names, accepts = and :', () => {
    const s = parseIni('[Definition]\nFailRegex = a\nmaxlines: 2\n', 'f.conf');
    expect(s.get('Definition')?.get('failregex')?.value).toBe('a');
    expect(s.get('Definition')?.get('maxlines')?.value).toBe('2');
  });

  it('joins indented continuation lines and drops comment lines inside them', () => {
    const s = parseIni('[D]\nfailregex = ^one$\n    ^two$\n# comment\n    ^three$\n\nx = 1\n', 'f');
    expect(s.get('D')?.get('failregex')?.value).toBe('^one$\n^two$\n^three$');
    expect(s.get('D')?.get('x')?.value).toBe('1');
  });

  it('strips inline ; comments only after whitespace, never # comments', () => {
    const s = parseIni('[D]\na = x ; note\nb = x;y\nc = a # b\n', 'f');
    expect(s.get('D')?.get('a')?.value).toBe('x');
    expect(s.get('D')?.get('b')?.value).toBe('x;y');
    expect(s.get('D')?.get('c')?.value).toBe('a # b');
  });

  it('names file and line of an unparsable line', () => {
    expect(() => parseIni('[D]\nthis is not an option\n', '/x/f.conf')).toThrowError(
      /\/x\/f\.conf:2/,
    );
    expect(() => parseIni('orphan = 1\n', '/x/g.conf')).toThrowError(/outside any \[section\]/);
  });
});

describe('IniConfig: includes, .local files, interpolation', () => {
  const fs = files({
    '/f/common.conf': '[DEFAULT]\n_daemon = \\S*\nprefix = ^%(_daemon)s:\n[lt_file]\nx = file\n',
    '/f/svc.conf':
      '[INCLUDES]\nbefore = common.conf\n[Definition]\n_daemon = svc\nfailregex = %(prefix)s <HOST>$\npct = 100%%\nsec = %(lt_file/x)s\n',
    '/f/svc.local': '[Definition]\nfailregex = %(known/failregex)s\n            extra <HOST>$\n',
  });

  it('reads before-includes relative to the including file, then the .local override', () => {
    const c = IniConfig.load('/f/svc.conf', fs);
    expect(c.files).toEqual(['/f/common.conf', '/f/svc.conf', '/f/svc.local']);
  });

  it('interpolates %(x)s against the section and DEFAULT, %% and section/option', () => {
    const c = IniConfig.load('/f/svc.conf', fs);
    expect(c.get('Definition', 'pct')).toBe('100%');
    expect(c.get('Definition', 'sec')).toBe('file');
  });

  it('%(known/opt)s extends the value from the earlier file', () => {
    const c = IniConfig.load('/f/svc.conf', fs);
    expect(c.get('Definition', 'failregex')).toBe('^svc: <HOST>$\nextra <HOST>$');
  });

  it('reports a missing interpolation target with the option name', () => {
    const bad = files({ '/f/b.conf': '[Definition]\nfailregex = %(nope)s <HOST>\n' });
    expect(() => IniConfig.load('/f/b.conf', bad).get('Definition', 'failregex')).toThrowError(
      /no option 'nope'/,
    );
  });

  it('stops an include loop instead of recursing forever', () => {
    const loop = files({
      '/f/a.conf': '[INCLUDES]\nbefore = b.conf\n[Definition]\nfailregex = a <HOST>\n',
      '/f/b.conf': '[INCLUDES]\nbefore = a.conf\n[Definition]\nx = 1\n',
    });
    expect(IniConfig.load('/f/a.conf', loop).get('Definition', 'failregex')).toBe('a <HOST>');
  });
});

describe('tags and parameter precedence', () => {
  it('resolves the innermost tag first (<mdre-<mode>>)', () => {
    const out = substituteTags(
      new Map([
        ['failregex', '<mdre-<mode>>'],
        ['mode', 'extra'],
      ]),
      (name) => ({ 'mdre-extra': 'EXTRA <HOST>' })[name],
    );
    expect(out.get('failregex')).toBe('EXTRA <HOST>');
  });

  it('rejects self-referencing tags', () => {
    expect(() => substituteTags(new Map([['a', 'x<a>']]), () => undefined)).toThrow(FilterError);
  });

  it('jail parameters beat [Init], which beats [Definition]', () => {
    const fs = files({
      '/f/p.conf':
        '[Definition]\nmode = def\nfailregex = <mdre-<mode>>\nmdre-def = D <HOST>\nmdre-init = I <HOST>\nmdre-jail = J <HOST>\n[Init]\nmode = init\n',
    });
    expect(assembleFilter('/f/p.conf', fs).options.failregex).toBe('I <HOST>');
    expect(assembleFilter('/f/p.conf', fs, { mode: 'jail' }).options.failregex).toBe('J <HOST>');
  });

  it('a jail failregex replaces the filter one; %(known/failregex)s extends it', () => {
    const fs = files({ '/f/q.conf': '[Definition]\nfailregex = F <HOST>\n' });
    expect(assembleFilter('/f/q.conf', fs, { failregex: 'J <HOST>' }).options.failregex).toBe(
      'J <HOST>',
    );
    expect(
      assembleFilter('/f/q.conf', fs, { failregex: '%(known/failregex)s\nJ <HOST>' }).options
        .failregex,
    ).toBe('F <HOST>\nJ <HOST>');
  });
});
