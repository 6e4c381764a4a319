// Collecting configuration problems and locating each one: a YAML line for a value from the file, a
// flag name for a value from the command line. Plus the small readers every section uses, so that each
// field is checked the same way and reports the same kind of message.
import { isMap, isNode, isPair, isScalar, type Document, type LineCounter } from 'yaml';
import type { Config } from './config.js';
import type { ConfigProblem, ConfigResult } from './problem.js';
import { closestName } from './spelling.js';

export type Path = readonly (string | number)[];
export type Raw = Record<string, unknown>;

export function pathText(path: Path): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out;
}

/** Collects problems and finds where in the file (or which flag) each one is. */
export class Checker {
  readonly problems: ConfigProblem[] = [];
  /** Paths whose value a flag supplied, keyed by pathText. */
  readonly overridden = new Map<string, string>();

  constructor(
    private readonly file: string | null,
    private readonly doc: Document.Parsed | null,
    private readonly lineCounter: LineCounter | null,
  ) {}

  /** atKey: point at the key rather than the value (unknown keys). */
  report(path: Path, message: string, atKey = false): void {
    const text = pathText(path);
    const flag = this.overridden.get(text);
    if (flag !== undefined) {
      this.problems.push({ file: null, line: null, column: null, path: flag, message });
      return;
    }
    const offset = this.offsetOf(path, atKey);
    if (offset === null || this.lineCounter === null) {
      this.problems.push({ file: this.file, line: null, column: null, path: text, message });
      return;
    }
    const pos = this.lineCounter.linePos(offset);
    this.problems.push({ file: this.file, line: pos.line, column: pos.col, path: text, message });
  }

  /** The node at the path, or (for a missing value) the nearest enclosing node that exists. */
  private offsetOf(path: Path, atKey: boolean): number | null {
    if (this.doc === null) return null;
    for (let i = path.length; i >= 0; i--) {
      const prefix = path.slice(0, i);
      if (atKey && i === path.length && i > 0) {
        const parent: unknown = i === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, i - 1), true);
        if (isMap(parent)) {
          const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === path[i - 1]);
          if (pair !== undefined && isNode(pair.key) && pair.key.range) return pair.key.range[0];
        }
        continue;
      }
      const node: unknown = prefix.length === 0 ? this.doc.contents : this.doc.getIn(prefix, true);
      if (isNode(node) && node.range) return node.range[0];
    }
    return null;
  }

  result(config: Config | null): ConfigResult<Config> {
    if (this.problems.length > 0 || config === null) {
      const sorted = [...this.problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
      return { ok: false, problems: sorted };
    }
    return { ok: true, config: deepFreeze(config) };
  }
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a mapping';
  return String(value);
}

/** Unknown keys are rejected (a typo would otherwise silently fall back to a default). */
export function checkKeys(obj: Raw, path: Path, known: readonly string[], checker: Checker): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const guess = closestName(key, known);
    const hint = guess === null ? `known keys: ${known.join(', ')}` : `did you mean "${guess}"?`;
    checker.report([...path, key], `unknown key "${key}"; ${hint}`, true);
  }
}

/** A mapping at obj[key], {} when absent, null (reported) when something else. */
export function section(obj: Raw, key: string, path: Path, checker: Checker, example: string): Raw | null {
  const value = obj[key];
  if (value === undefined || value === null) return {};
  if (isRecord(value)) return value;
  checker.report([...path, key], `is ${describe(value)}; write a mapping, e.g. ${example}`);
  return null;
}

export function integer(
  obj: Raw,
  key: string,
  path: Path,
  checker: Checker,
  fallback: number,
  min: number,
  max: number,
  what: string,
): number {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    checker.report([...path, key], `${describe(value)} is not ${what}; use an integer ${min}..${max}`);
    return fallback;
  }
  if (value < min || value > max) {
    checker.report([...path, key], `${value} is out of range for ${what}; use ${min}..${max}`);
    return fallback;
  }
  return value;
}

export function boolean(obj: Raw, key: string, path: Path, checker: Checker, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    checker.report([...path, key], `${describe(value)} is not a boolean; use true or false`);
    return fallback;
  }
  return value;
}

export function oneOf<T extends string>(obj: Raw, key: string, path: Path, checker: Checker, fallback: T, choices: readonly T[]): T {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  const guess = typeof value === 'string' ? closestName(value, choices) : null;
  const hint = guess === null ? '' : ` (did you mean "${guess}"?)`;
  checker.report([...path, key], `${describe(value)} is not allowed${hint}; use one of ${choices.join(', ')}`);
  return fallback;
}
