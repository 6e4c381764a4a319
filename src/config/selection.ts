// A rule's `select:` mapping (README "Fault injection"): which of the packets a rule matches it acts
// on. Checked here with paths and fixes; compiled into flat arrays by src/rules/selector.ts.
import type { Selection } from './config.js';
import { Checker, boolean, checkKeys, describe, integer, section, type Path, type Raw } from './checker.js';

export const SELECT_KEYS = ['probability', 'seed', 'perFlow', 'every', 'maxPackets', 'after', 'for'] as const;
const U32_MAX = 0xffffffff;
/** A window longer than a year is a typo for "always"; leave `for` out instead. */
const SECONDS_MAX = 365 * 24 * 3600;

/** null when the rule has no `select:` (every match is acted on). */
export function checkSelection(rule: Raw, path: Path, checker: Checker): Selection | null {
  if (rule.select === undefined || rule.select === null) return null;
  const raw = section(rule, 'select', path, checker, '{ probability: 0.5, seed: 1 } or { every: 2 }');
  if (raw === null) return null;
  const at: Path = [...path, 'select'];
  checkKeys(raw, at, SELECT_KEYS, checker);

  let probability: number | null = null;
  if (raw.probability !== undefined) {
    const p = raw.probability;
    if (typeof p !== 'number' || !Number.isFinite(p) || p <= 0 || p > 1) {
      checker.report(
        [...at, 'probability'],
        `${describe(p)} is not a probability; use a number above 0 and at most 1 (0.25 = one in four); to turn the rule off remove it`,
      );
    } else probability = p;
  }
  const seed = integer(raw, 'seed', at, checker, 0, 0, U32_MAX, 'a seed');
  if (raw.seed !== undefined && raw.probability === undefined) {
    checker.report([...at, 'seed'], 'a seed only matters with probability; add "probability: P" or remove seed');
  }
  const perFlow = boolean(raw, 'perFlow', at, checker, false);
  if (perFlow && raw.probability === undefined) {
    checker.report(
      [...at, 'perFlow'],
      'perFlow picks flows with the probability; add "probability: P" (1 = every flow), or remove perFlow',
    );
  }
  const every = integer(raw, 'every', at, checker, 1, 1, U32_MAX, 'a count of matches ("every: 2" = every second match)');
  const maxPackets =
    raw.maxPackets === undefined ? null : integer(raw, 'maxPackets', at, checker, 0, 1, Number.MAX_SAFE_INTEGER, 'a packet count');
  const after = seconds(raw, 'after', at, checker, 0, 0);
  const forSeconds = raw.for === undefined ? null : seconds(raw, 'for', at, checker, 0, Number.MIN_VALUE);
  if (Object.keys(raw).length === 0) {
    checker.report(at, 'is empty; give probability, every, maxPackets, after or for, or remove select');
  }
  return { probability, seed, perFlow, every, maxPackets, after, for: forSeconds };
}

function seconds(raw: Raw, key: string, path: Path, checker: Checker, fallback: number, min: number): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > SECONDS_MAX) {
    const lower = min === 0 ? '0' : 'above 0';
    checker.report(
      [...path, key],
      `${describe(value)} is not a time in seconds; use a number ${lower}..${SECONDS_MAX} (seconds since start or reload, e.g. 2.5)`,
    );
    return fallback;
  }
  return value;
}
