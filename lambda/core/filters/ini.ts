/**
 * fail2ban's INI dialect: Python `configparser` (BasicInterpolation, `inline_comment_prefixes=';'`)
 * plus fail2ban's additions — `[INCLUDES]` before/after, automatic `.local` files, the
 * `KNOWN/<section>` shadow values, and `%(section/option)s`, `%(default/option)s`,
 * `%(known/option)s` references.
 *
 * Pure: files are read through a {@link FilterFileSource}.
 */
import { FilterError } from '../errors.js';

/** Reads filter files by absolute POSIX path; undefined when the file does not exist. */
export interface FilterFileSource {
  read(path: string): string | undefined;
  /** Lists file names (not paths) in a directory; empty when it does not exist. */
  list?(dir: string): readonly string[];
}

/** One option value with the place it was written, for error messages. */
export interface RawValue {
  readonly value: string;
  readonly file: string;
  /** 1-based line of the option name in `file`. */
  readonly line: number;
}

export type Section = Map<string, RawValue>;

/** Parses one file's text into sections. Option names are lowercased, as configparser does. */
export function parseIni(text: string, file: string): Map<string, Section> {
  const sections = new Map<string, Section>();
  let current: Section | undefined;
  let option: { name: string; parts: string[]; line: number } | undefined;
  let indentLevel = 0;
  const flush = () => {
    if (current && option) {
      current.set(option.name, {
        value: option.parts.join('\n').replace(/\s+$/, ''),
        file,
        line: option.line,
      });
    }
    option = undefined;
  };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;
    const stripped = raw.trim();
    let commentStart: number | undefined;
    if (stripped.startsWith('#') || stripped.startsWith(';')) commentStart = 0;
    else {
      // An inline ';' starts a comment only after whitespace (configparser's inline prefixes).
      for (let j = 1; j < raw.length; j++) {
        if (raw[j] === ';' && /\s/.test(raw[j - 1] ?? '')) {
          commentStart = j;
          break;
        }
      }
    }
    const value = (commentStart === undefined ? raw : raw.slice(0, commentStart)).trim();
    if (value === '') {
      // Blank lines inside a multi-line value are kept (and stripped at the end) unless the
      // line held a comment.
      if (commentStart === undefined && option) option.parts.push('');
      continue;
    }
    const curIndent = raw.search(/\S/);
    if (option && curIndent > indentLevel) {
      option.parts.push(value);
      continue;
    }
    indentLevel = curIndent;
    const header = /^\[(.+)\]/.exec(value);
    if (header) {
      flush();
      const name = header[1] ?? '';
      current = sections.get(name);
      if (!current) {
        current = new Map();
        sections.set(name, current);
      }
      continue;
    }
    if (!current) {
      throw new FilterError(`line ${lineNo} is outside any [section]: ${JSON.stringify(raw)}`, {
        file,
        line: lineNo,
      });
    }
    const opt = /^(.*?)\s*([=:])\s*(.*)$/.exec(value);
    if (!opt || (opt[1] ?? '') === '') {
      throw new FilterError(`cannot parse line ${lineNo}: ${JSON.stringify(raw)}`, {
        file,
        line: lineNo,
      });
    }
    flush();
    option = { name: (opt[1] ?? '').toLowerCase(), parts: [opt[3] ?? ''], line: lineNo };
  }
  flush();
  return sections;
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function joinPath(dir: string, name: string): string {
  if (name.startsWith('/')) return name;
  const parts = `${dir}/${name}`.split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') out.pop();
    else if (p !== '.' && p !== '') out.push(p);
  }
  return `/${out.join('/')}`;
}

function withoutExt(path: string): string {
  return path.replace(/\.[^./]*$/, '');
}

/**
 * A merged configuration: every file of a filter read in fail2ban's order, later values winning,
 * each overwritten value saved in `KNOWN/<section>`.
 */
export class IniConfig {
  readonly sections = new Map<string, Section>();
  readonly defaults: Section = new Map();
  readonly files: string[] = [];

  /**
   * Reads `path` (must exist) with its includes, `.local` companion and `<name>.d/` directory,
   * in fail2ban's order.
   */
  static load(path: string, source: FilterFileSource): IniConfig {
    const config = new IniConfig();
    const main = source.read(path);
    if (main === undefined) throw new FilterError('filter file not found', { file: path });
    const base = withoutExt(path);
    const dDir = `${base}.d`;
    const dFiles = source.list?.(dDir) ?? [];
    const ordered: string[] = [path];
    for (const f of [...dFiles].filter((n) => n.endsWith('.conf')).sort())
      ordered.push(`${dDir}/${f}`);
    ordered.push(`${base}.local`);
    for (const f of [...dFiles].filter((n) => n.endsWith('.local')).sort())
      ordered.push(`${dDir}/${f}`);
    for (const f of ordered) config.readWithIncludes(f, source, [], f === path);
    return config;
  }

  private readWithIncludes(
    path: string,
    source: FilterFileSource,
    chain: string[],
    required: boolean,
  ): void {
    if (chain.includes(path)) return; // include loop: fail2ban skips a file already on the chain
    const text = source.read(path);
    if (text === undefined) {
      if (required) throw new FilterError('file not found', { file: path });
      return;
    }
    const parsed = parseIni(text, path);
    const includes = parsed.get('INCLUDES');
    const list = (opt: string) =>
      (includes?.get(opt)?.value ?? '')
        .split('\n')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((s) => joinPath(dirname(path), s));
    const withLocal = (files: string[]) =>
      files.flatMap((f) => {
        const local = `${withoutExt(f)}.local`;
        return local !== f && !files.includes(local) ? [f, local] : [f];
      });
    const next = [...chain, path];
    for (const f of withLocal(list('before'))) this.readWithIncludes(f, source, next, false);
    this.merge(parsed, path);
    for (const f of withLocal(list('after'))) this.readWithIncludes(f, source, next, false);
  }

  private merge(parsed: Map<string, Section>, path: string): void {
    this.files.push(path);
    for (const [name, section] of parsed) {
      if (name === 'DEFAULT') {
        for (const [k, v] of section) this.defaults.set(k, v);
        continue;
      }
      const existing = this.sections.get(name);
      if (!existing) {
        this.sections.set(name, new Map(section));
        continue;
      }
      const known = this.sections.get(`KNOWN/${name}`) ?? new Map<string, RawValue>();
      for (const [k, v] of section) {
        const old = existing.get(k);
        if (old) known.set(k, old);
        existing.set(k, v);
      }
      this.sections.set(`KNOWN/${name}`, known);
    }
  }

  /** Raw value lookup with `vars` first, then the section, then `[DEFAULT]`. */
  raw(section: string, option: string, vars?: ReadonlyMap<string, RawValue>): RawValue | undefined {
    return (
      vars?.get(option) ?? this.sections.get(section)?.get(option) ?? this.defaults.get(option)
    );
  }

  /**
   * The interpolated value of `option` in `section` (configparser `get` with `vars`), handling
   * fail2ban's `sec/opt`, `default/opt` and `known/opt` names. Undefined when absent.
   */
  get(section: string, option: string, vars?: ReadonlyMap<string, RawValue>): string | undefined {
    const found = this.lookup(section, option, vars);
    if (!found) return undefined;
    return this.interpolate(found.value, found.section, vars, found.raw, option, 1);
  }

  private lookup(
    section: string,
    option: string,
    vars?: ReadonlyMap<string, RawValue>,
  ): { raw: RawValue; section: string; value: string } | undefined {
    const slash = option.indexOf('/');
    if (slash > 0) {
      const sec = option.slice(0, slash);
      const opt = option.slice(slash + 1);
      const lower = sec.toLowerCase();
      if (lower === 'known') {
        const k = this.sections.get(`KNOWN/${section}`)?.get(opt) ?? this.defaults.get(opt);
        if (k) return { raw: k, section, value: k.value };
        return undefined;
      }
      if (lower === 'default') {
        const d = this.defaults.get(opt);
        return d ? { raw: d, section: 'DEFAULT', value: d.value } : undefined;
      }
      const s = this.sections.get(sec)?.get(opt) ?? this.defaults.get(opt);
      return s ? { raw: s, section: sec, value: s.value } : undefined;
    }
    const r = this.raw(section, option, vars);
    return r ? { raw: r, section, value: r.value } : undefined;
  }

  private interpolate(
    value: string,
    section: string,
    vars: ReadonlyMap<string, RawValue> | undefined,
    at: RawValue,
    option: string,
    depth: number,
  ): string {
    if (!value.includes('%')) return value;
    if (depth > 10) {
      throw new FilterError('interpolation is too deep (more than 10 levels: a loop?)', {
        file: at.file,
        section,
        option,
      });
    }
    let out = '';
    let i = 0;
    while (i < value.length) {
      const p = value.indexOf('%', i);
      if (p < 0) {
        out += value.slice(i);
        break;
      }
      out += value.slice(i, p);
      const next = value[p + 1];
      if (next === '%') {
        out += '%';
        i = p + 2;
        continue;
      }
      const m = next === '(' ? /^%\(([^)]+)\)s/.exec(value.slice(p)) : null;
      if (!m) {
        throw new FilterError(
          `'%' must be followed by '%' or '(name)s', found ${JSON.stringify(value.slice(p, p + 10))}`,
          { file: at.file, section, option, line: lineOf(value, p) },
        );
      }
      const name = (m[1] ?? '').toLowerCase();
      let replacement: string | undefined;
      if (name === '__name__') replacement = section;
      else {
        const found = this.lookup(section, name, vars);
        if (found) {
          replacement = this.interpolate(
            found.value,
            found.section,
            vars,
            found.raw,
            name,
            depth + 1,
          );
        }
      }
      if (replacement === undefined) {
        throw new FilterError(`bad interpolation: no option '${name}' for %(${m[1]})s`, {
          file: at.file,
          section,
          option,
          line: lineOf(value, p),
        });
      }
      out += replacement;
      i = p + m[0].length;
    }
    return out;
  }
}

function lineOf(value: string, index: number): number {
  let n = 1;
  for (let i = 0; i < index; i++) if (value.charCodeAt(i) === 10) n++;
  return n;
}
