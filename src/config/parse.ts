// Configuration is parsed, not just validated: one function turns YAML text (and flags) into a deeply
// frozen Config or into every problem found, each with its path, its line and the fix (OpenBSD rad:
// the whole file is rejected when anything is wrong, so a reload never half-applies).
import { LineCounter, isMap, isNode, isPair, isScalar, parseDocument, type Document } from 'yaml';
import {
  DEFAULTS,
  LOG_FORMATS,
  LOG_LEVELS,
  MSS_MAX_IPV4,
  MSS_MAX_IPV6,
  MSS_MIN,
  mssMaxFor,
  type ActionChoice,
  type Config,
  type DirectionChoice,
  type FamilyChoice,
  type LogFormat,
  type LogLevel,
  type Mark,
  type MetricsConfig,
  type PortRange,
  type Prefix,
  type Rule,
  type RuleMatch,
} from './config.js';
import { CLI_RULE_NAME, FLAG_FOR_FIELD, hasRuleFlags, type ConfigFlags } from './flags.js';
import { parsePrefix } from './prefix.js';
import type { ConfigProblem, ConfigResult } from './problem.js';
import { closestName } from './spelling.js';

type Path = readonly (string | number)[];
type Raw = Record<string, unknown>;

const TOP_KEYS = ['queue', 'queueMaxLen', 'failOpen', 'dryRun', 'metrics', 'log', 'pmtu', 'rules'] as const;
const METRICS_KEYS = ['listen'] as const;
const LOG_KEYS = ['level', 'format'] as const;
const PMTU_KEYS = ['floorIpv4', 'floorIpv6'] as const;
const RULE_KEYS = ['name', 'match', 'action', 'mss', 'allowIncrease', 'insert', 'dryRun'] as const;
const MATCH_KEYS = [
  'family',
  'direction',
  'source',
  'destination',
  'sourcePort',
  'destinationPort',
  'inInterface',
  'outInterface',
  'mark',
] as const;

export const QUEUE_MAX = 65535;
/** The kernel takes any u32 for NFQA_CFG_QUEUE_MAXLEN; beyond a million queued SYNs is a mistake. */
export const QUEUE_MAXLEN_MAX = 1_048_576;
export const RULE_NAME_PATTERN = /^[a-z0-9_-]{1,64}$/;
/** IFNAMSIZ is 16 with the NUL; the characters are those `ip link` names use in practice. */
export const INTERFACE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,15}$/;

/** Linux also refuses "." and ".." (dev_valid_name in net/core/dev.c); they would escape /sys/class/net.
 * A leading "-" would read as an option to iptables. */
export function isInterfaceName(name: string): boolean {
  return INTERFACE_NAME_PATTERN.test(name) && name !== '.' && name !== '..' && !name.startsWith('-');
}
const U32_MAX = 0xffffffff;

export function pathText(path: Path): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out;
}

/** Parse a configuration file's text alone. */
export function parseConfig(text: string, fileName: string): ConfigResult<Config> {
  return buildConfig({ text, name: fileName }, {});
}

/** Parse the file (if any), apply the flags over it, and check the result as a whole. */
export function buildConfig(file: { text: string; name: string } | null, flags: ConfigFlags): ConfigResult<Config> {
  let doc: Document.Parsed | null = null;
  let lineCounter: LineCounter | null = null;
  let raw: unknown = {};
  if (file !== null) {
    lineCounter = new LineCounter();
    doc = parseDocument(file.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      return {
        ok: false,
        problems: doc.errors.map((e) => {
          const pos = lineCounter!.linePos(e.pos[0]);
          return { file: file.name, line: pos.line, column: pos.col, path: '', message: yamlMessage(e.code, e.message, file.text.slice(e.pos[0], e.pos[1])) };
        }),
      };
    }
    try {
      // maxAliasCount stops alias bombs ("billion laughs") from expanding without bound.
      raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, problems: [{ file: file.name, line: null, column: null, path: '', message: `cannot be expanded: ${message}; use fewer YAML aliases` }] };
    }
  }
  const checker = new Checker(file?.name ?? null, doc, lineCounter);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    checker.report([], 'the file must be a YAML mapping (queue:, rules:, ...); see README "## Configuration"');
    return checker.result(null);
  }
  const top = applyFlags(raw as Raw, flags, checker);
  return checker.result(checkConfig(top, checker, file?.name ?? null));
}

function yamlMessage(code: string, message: string, at: string): string {
  const first = message.split('\n')[0] ?? message;
  if (code === 'DUPLICATE_KEY') return `key "${at}" appears twice in the same mapping; keep one`;
  if (code === 'TAB_AS_INDENT') return 'tabs cannot indent YAML; indent with spaces';
  return `not valid YAML: ${first}`;
}

/** Collects problems and finds where in the file (or which flag) each one is. */
class Checker {
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

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Write flag values into the raw document, remembering which paths they supplied. */
function applyFlags(fileRaw: Raw, flags: ConfigFlags, checker: Checker): Raw {
  const raw: Raw = { ...fileRaw };
  const set = (key: string, value: unknown, flag: string): void => {
    raw[key] = value;
    checker.overridden.set(key, flag);
  };
  if (flags.queue !== undefined) set('queue', flags.queue, FLAG_FOR_FIELD.queue);
  if (flags.queueMaxLen !== undefined) set('queueMaxLen', flags.queueMaxLen, FLAG_FOR_FIELD.queueMaxLen);
  if (flags.failOpen !== undefined) set('failOpen', flags.failOpen, FLAG_FOR_FIELD.failOpen);
  if (flags.dryRun !== undefined) set('dryRun', flags.dryRun, FLAG_FOR_FIELD.dryRun);
  if (flags.metricsListen !== undefined) {
    if (flags.metricsListen === 'off') set('metrics', false, FLAG_FOR_FIELD.metricsListen);
    else {
      raw.metrics = { listen: flags.metricsListen };
      checker.overridden.set('metrics.listen', FLAG_FOR_FIELD.metricsListen);
    }
  }
  if (flags.logLevel !== undefined || flags.logFormat !== undefined) {
    const log: Raw = isRecord(raw.log) ? { ...raw.log } : {};
    if (flags.logLevel !== undefined) {
      log.level = flags.logLevel;
      checker.overridden.set('log.level', FLAG_FOR_FIELD.logLevel);
    }
    if (flags.logFormat !== undefined) {
      log.format = flags.logFormat;
      checker.overridden.set('log.format', FLAG_FOR_FIELD.logFormat);
    }
    raw.log = log;
  }

  const ruleFlagsGiven = hasRuleFlags(flags) || flags.allowIncrease !== undefined || flags.direction !== undefined;
  if (!ruleFlagsGiven) return raw;
  let rules: unknown[];
  if (raw.rules !== undefined && raw.rules !== null && !Array.isArray(raw.rules)) return raw;
  if (Array.isArray(raw.rules) && raw.rules.length > 0) {
    rules = raw.rules.map((r) => (isRecord(r) ? { ...r, match: isRecord(r.match) ? { ...r.match } : r.match } : r));
  } else {
    if (!hasRuleFlags(flags)) {
      checker.report([], `${flags.direction !== undefined ? '--direction' : '--allow-increase'} needs a rule: add --set-mss N or --clamp-mss-to-pmtu`);
      return raw;
    }
    rules = [{ name: CLI_RULE_NAME, match: {} }];
  }
  rules.forEach((rule, i) => {
    if (!isRecord(rule)) return;
    const at = (field: string): string => `rules[${i}].${field}`;
    if (flags.setMss !== undefined) {
      rule.action = 'set';
      rule.mss = flags.setMss;
      checker.overridden.set(at('action'), FLAG_FOR_FIELD.setMss);
      checker.overridden.set(at('mss'), FLAG_FOR_FIELD.setMss);
    } else if (flags.clampMssToPmtu === true) {
      rule.action = 'clamp-to-pmtu';
      delete rule.mss;
      checker.overridden.set(at('action'), FLAG_FOR_FIELD.clampMssToPmtu);
    }
    if (flags.allowIncrease !== undefined) {
      rule.allowIncrease = flags.allowIncrease;
      checker.overridden.set(at('allowIncrease'), FLAG_FOR_FIELD.allowIncrease);
    }
    if (flags.direction !== undefined && (rule.match === undefined || rule.match === null || isRecord(rule.match))) {
      const match: Raw = isRecord(rule.match) ? rule.match : {};
      match.direction = flags.direction;
      rule.match = match;
      checker.overridden.set(at('match.direction'), FLAG_FOR_FIELD.direction);
    }
  });
  raw.rules = rules;
  return raw;
}

function isRecord(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'a mapping';
  return String(value);
}

/** Unknown keys are rejected (a typo would otherwise silently fall back to a default). */
function checkKeys(obj: Raw, path: Path, known: readonly string[], checker: Checker): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const guess = closestName(key, known);
    const hint = guess === null ? `known keys: ${known.join(', ')}` : `did you mean "${guess}"?`;
    checker.report([...path, key], `unknown key "${key}"; ${hint}`, true);
  }
}

/** A mapping at obj[key], {} when absent, null (reported) when something else. */
function section(obj: Raw, key: string, path: Path, checker: Checker, example: string): Raw | null {
  const value = obj[key];
  if (value === undefined || value === null) return {};
  if (isRecord(value)) return value;
  checker.report([...path, key], `is ${describe(value)}; write a mapping, e.g. ${example}`);
  return null;
}

function integer(
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

function boolean(obj: Raw, key: string, path: Path, checker: Checker, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    checker.report([...path, key], `${describe(value)} is not a boolean; use true or false`);
    return fallback;
  }
  return value;
}

function oneOf<T extends string>(
  obj: Raw,
  key: string,
  path: Path,
  checker: Checker,
  fallback: T,
  choices: readonly T[],
): T {
  const value = obj[key];
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  const guess = typeof value === 'string' ? closestName(value, choices) : null;
  const hint = guess === null ? '' : ` (did you mean "${guess}"?)`;
  checker.report([...path, key], `${describe(value)} is not allowed${hint}; use one of ${choices.join(', ')}`);
  return fallback;
}

/** Checks an MSS value; explains the Linux lower bound and the per-family upper bound. */
function mssValue(value: unknown, path: Path, checker: Checker, family: FamilyChoice, fallback: number): number {
  const max = mssMaxFor(family);
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    checker.report(path, `${describe(value)} is not an MSS; use an integer ${MSS_MIN}..${max}`);
    return fallback;
  }
  if (value < MSS_MIN) {
    checker.report(
      path,
      `${value} is below ${MSS_MIN}: Linux peers raise any MSS below ${MSS_MIN} (net.ipv4.tcp_min_snd_mss), so it would be ignored; use ${MSS_MIN}..${max}`,
    );
    return fallback;
  }
  if (value > max) {
    const why =
      family === 4
        ? `the largest IPv4 MSS`
        : family === 6
          ? `the largest IPv6 MSS`
          : `the largest IPv6 MSS (the rule matches both families; IPv4 allows ${MSS_MAX_IPV4} with family: 4)`;
    checker.report(path, `${value} is above ${max}, ${why}; use ${MSS_MIN}..${max}`);
    return fallback;
  }
  return value;
}

function checkConfig(raw: Raw, checker: Checker, file: string | null): Config | null {
  checkKeys(raw, [], TOP_KEYS, checker);
  const queue = integer(raw, 'queue', [], checker, DEFAULTS.queue, 0, QUEUE_MAX, 'a queue number');
  const queueMaxLen = integer(raw, 'queueMaxLen', [], checker, DEFAULTS.queueMaxLen, 1, QUEUE_MAXLEN_MAX, 'a queue length');
  const failOpen = boolean(raw, 'failOpen', [], checker, DEFAULTS.failOpen);
  const dryRun = boolean(raw, 'dryRun', [], checker, DEFAULTS.dryRun);

  let metrics: MetricsConfig | null = parseListen(DEFAULTS.metricsListen) as MetricsConfig;
  if (raw.metrics === false) metrics = null;
  else if (raw.metrics !== undefined) {
    const m = section(raw, 'metrics', [], checker, '{ listen: "127.0.0.1:9465" } or false');
    if (m !== null) {
      checkKeys(m, ['metrics'], METRICS_KEYS, checker);
      if (m.listen !== undefined) {
        const listen = typeof m.listen === 'string' ? parseListen(m.listen) : null;
        if (typeof listen === 'object' && listen !== null) metrics = listen;
        else {
          const why = typeof listen === 'string' ? listen : `${describe(m.listen)} is not HOST:PORT`;
          checker.report(['metrics', 'listen'], `${why}; write e.g. "127.0.0.1:9465" or "[::1]:9465"`);
        }
      }
    }
  }

  const logRaw = section(raw, 'log', [], checker, '{ level: info, format: json }') ?? {};
  checkKeys(logRaw, ['log'], LOG_KEYS, checker);
  const log: { level: LogLevel; format: LogFormat } = {
    level: oneOf(logRaw, 'level', ['log'], checker, DEFAULTS.logLevel, LOG_LEVELS),
    format: oneOf(logRaw, 'format', ['log'], checker, DEFAULTS.logFormat, LOG_FORMATS),
  };

  const pmtuRaw = section(raw, 'pmtu', [], checker, '{ floorIpv4: 536, floorIpv6: 1220 }') ?? {};
  checkKeys(pmtuRaw, ['pmtu'], PMTU_KEYS, checker);
  const pmtu = {
    floorIpv4:
      pmtuRaw.floorIpv4 === undefined
        ? DEFAULTS.floorIpv4
        : mssValue(pmtuRaw.floorIpv4, ['pmtu', 'floorIpv4'], checker, 4, DEFAULTS.floorIpv4),
    floorIpv6:
      pmtuRaw.floorIpv6 === undefined
        ? DEFAULTS.floorIpv6
        : mssValue(pmtuRaw.floorIpv6, ['pmtu', 'floorIpv6'], checker, 6, DEFAULTS.floorIpv6),
  };

  const rules: Rule[] = [];
  const rulesRaw = raw.rules;
  if (rulesRaw === undefined || rulesRaw === null || (Array.isArray(rulesRaw) && rulesRaw.length === 0)) {
    checker.report(
      rulesRaw === undefined ? [] : ['rules'],
      file === null
        ? 'no rules: give --set-mss N or --clamp-mss-to-pmtu, or --config FILE'
        : 'no rules: add a "rules:" list with at least one rule (see README "## Configuration"), or give --set-mss N or --clamp-mss-to-pmtu',
    );
  } else if (!Array.isArray(rulesRaw)) {
    checker.report(['rules'], `is ${describe(rulesRaw)}; write a list of rules, each starting with "- name: ..."`);
  } else {
    const firstByName = new Map<string, number>();
    rulesRaw.forEach((ruleRaw, i) => {
      const rule = checkRule(ruleRaw, ['rules', i], checker);
      if (rule === null) return;
      const earlier = firstByName.get(rule.name);
      if (earlier !== undefined) {
        checker.report(
          ['rules', i, 'name'],
          `"${rule.name}" is already the name of rules[${earlier}]; rule names label metrics and logs, so make them unique`,
        );
      } else firstByName.set(rule.name, i);
      rules.push(rule);
    });
  }
  return { file, queue, queueMaxLen, failOpen, dryRun, metrics, log, pmtu, rules };
}

/** HOST:PORT (IPv6 in brackets) or a message. */
export function parseListen(text: string): MetricsConfig | string {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  if (m === null) return `"${text}" is not HOST:PORT`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `port ${port} in "${text}" is out of range 1..65535`;
  return { host: m[1] ?? m[2]!, port };
}

function checkRule(ruleRaw: unknown, path: Path, checker: Checker): Rule | null {
  if (!isRecord(ruleRaw)) {
    checker.report(path, `is ${describe(ruleRaw)}; each rule is a mapping: "- name: vpn-clamp" then "action: set", "mss: 1380"`);
    return null;
  }
  checkKeys(ruleRaw, path, RULE_KEYS, checker);
  let name = `#${String(path[path.length - 1])}`;
  if (ruleRaw.name === undefined) {
    checker.report(path, 'has no name; add "name: <lowercase letters, digits, - or _>" (used in logs and metric labels)');
  } else if (typeof ruleRaw.name !== 'string' || !RULE_NAME_PATTERN.test(ruleRaw.name)) {
    checker.report([...path, 'name'], `${describe(ruleRaw.name)} is not a rule name; use 1..64 of a-z, 0-9, - and _ (it becomes a metric label)`);
  } else name = ruleRaw.name;

  const matchRaw = section(ruleRaw, 'match', path, checker, '{ family: 6, direction: syn }') ?? {};
  const match = checkMatch(matchRaw, [...path, 'match'], checker);

  let action: ActionChoice = 'set';
  if (ruleRaw.action === undefined) {
    checker.report(path, 'has no action; add "action: set" with "mss: N", or "action: clamp-to-pmtu"');
  } else action = oneOf(ruleRaw, 'action', path, checker, 'set', ['set', 'clamp-to-pmtu'] as const);

  let mss = 0;
  if (action === 'set') {
    if (ruleRaw.mss === undefined) {
      if (ruleRaw.action === 'set') checker.report(path, 'action set needs "mss: N" (48..65495); add it, or use action clamp-to-pmtu');
    } else mss = mssValue(ruleRaw.mss, [...path, 'mss'], checker, effectiveFamily(match), 0);
  } else if (ruleRaw.mss !== undefined) {
    checker.report([...path, 'mss'], 'clamp-to-pmtu computes the MSS from the path MTU; remove mss, or use action: set');
  }

  const allowIncrease = boolean(ruleRaw, 'allowIncrease', path, checker, false);
  let insert: boolean | number = true;
  const insertRaw = ruleRaw.insert;
  if (typeof insertRaw === 'boolean') insert = insertRaw;
  else if (typeof insertRaw === 'number') insert = mssValue(insertRaw, [...path, 'insert'], checker, effectiveFamily(match), 0);
  else if (insertRaw !== undefined) {
    checker.report([...path, 'insert'], `${describe(insertRaw)} is not allowed; use true (kernel: min(target, 536/1220)), false, or an MSS ${MSS_MIN}..${mssMaxFor(effectiveFamily(match))}`);
  }
  const dryRun = boolean(ruleRaw, 'dryRun', path, checker, false);
  return { name, match, action, mss, allowIncrease, insert, dryRun };
}

/** The family a rule can actually match: `both` narrowed by prefixes of one family only. Decides the
 * MSS upper bound, so `source: 198.51.100.0/24` allows the IPv4 bound without writing `family: 4`. */
export function effectiveFamily(match: RuleMatch): FamilyChoice {
  if (match.family !== 'both') return match.family;
  let allowed = [4, 6];
  for (const list of [match.source, match.destination]) {
    if (list.length > 0) allowed = allowed.filter((f) => list.some((p) => p.family === f));
  }
  return allowed.length === 1 ? (allowed[0] as 4 | 6) : 'both';
}

function checkMatch(raw: Raw, path: Path, checker: Checker): RuleMatch {
  checkKeys(raw, path, MATCH_KEYS, checker);
  let family: FamilyChoice = 'both';
  const familyRaw = raw.family;
  if (familyRaw === 4 || familyRaw === 6 || familyRaw === 'both') family = familyRaw;
  else if (familyRaw === '4' || familyRaw === '6') family = Number(familyRaw) as 4 | 6;
  else if (familyRaw !== undefined) {
    checker.report([...path, 'family'], `${describe(familyRaw)} is not a family; use 4, 6 or both`);
  }
  const direction: DirectionChoice = oneOf(raw, 'direction', path, checker, 'both', ['syn', 'synack', 'both'] as const);
  const source = prefixes(raw, 'source', path, checker, family);
  const destination = prefixes(raw, 'destination', path, checker, family);
  const families = (ps: readonly Prefix[]): Set<number> => new Set(ps.map((p) => p.family));
  if (source.length > 0 && destination.length > 0) {
    const s = families(source);
    const d = families(destination);
    if (![...s].some((f) => d.has(f))) {
      checker.report([...path, 'destination'], `source has only IPv${[...s][0]} prefixes and destination only IPv${[...d][0]}, so the rule can never match; split it into one rule per family`);
    }
  }
  return {
    family,
    direction,
    source,
    destination,
    sourcePort: ports(raw, 'sourcePort', path, checker),
    destinationPort: ports(raw, 'destinationPort', path, checker),
    inInterface: interfaceName(raw, 'inInterface', path, checker),
    outInterface: interfaceName(raw, 'outInterface', path, checker),
    mark: mark(raw, path, checker),
  };
}

function listOf(raw: Raw, key: string): unknown[] | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value : [value];
}

function prefixes(raw: Raw, key: string, path: Path, checker: Checker, family: FamilyChoice): Prefix[] {
  const items = listOf(raw, key);
  if (items === undefined) return [];
  const out: Prefix[] = [];
  const single = !Array.isArray(raw[key]);
  items.forEach((item, i) => {
    const at = single ? [...path, key] : [...path, key, i];
    if (typeof item !== 'string') {
      checker.report(at, `${describe(item)} is not a prefix; write a quoted string like "198.51.100.0/24" or "fd00::/8"`);
      return;
    }
    const prefix = parsePrefix(item);
    if (typeof prefix === 'string') {
      checker.report(at, prefix);
      return;
    }
    if (family !== 'both' && prefix.family !== family) {
      checker.report(at, `"${item}" is IPv${prefix.family} but the rule's family is ${family}; remove it, or set family: both`);
      return;
    }
    out.push(prefix);
  });
  if (items.length === 0) checker.report([...path, key], 'is an empty list, which would match nothing; remove the key to match any address');
  return out;
}

function ports(raw: Raw, key: string, path: Path, checker: Checker): PortRange[] {
  const items = listOf(raw, key);
  if (items === undefined) return [];
  const out: PortRange[] = [];
  const single = !Array.isArray(raw[key]);
  items.forEach((item, i) => {
    const at = single ? [...path, key] : [...path, key, i];
    const range = parsePortRange(item);
    if (typeof range === 'string') checker.report(at, range);
    else out.push(range);
  });
  if (items.length === 0) checker.report([...path, key], 'is an empty list, which would match nothing; remove the key to match any port');
  return out;
}

export function parsePortRange(item: unknown): PortRange | string {
  const fix = 'use a port 0..65535 or a range "FROM-TO" (e.g. 443 or "1000-2000")';
  if (typeof item === 'number') {
    if (Number.isInteger(item) && item >= 0 && item <= 65535) return { from: item, to: item };
    return `${item} is not a port; ${fix}`;
  }
  if (typeof item !== 'string') return `${describe(item)} is not a port; ${fix}`;
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(item.trim());
  if (m === null) return `"${item}" is not a port or range; ${fix}`;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > 65535 || to > 65535) return `"${item}" is beyond 65535; ${fix}`;
  if (from > to) return `"${item}" runs backwards; write "${to}-${from}"`;
  return { from, to };
}

function interfaceName(raw: Raw, key: string, path: Path, checker: Checker): string | null {
  const value = raw[key];
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && isInterfaceName(value)) return value;
  checker.report(
    [...path, key],
    `${describe(value)} is not an interface name; use 1..15 of A-Z a-z 0-9 _ . : - (one interface, no wildcards, not . or .., not starting with -)`,
  );
  return null;
}

function mark(raw: Raw, path: Path, checker: Checker): Mark | null {
  const value = raw.mark;
  if (value === undefined || value === null) return null;
  const parsed = parseMark(value);
  if (typeof parsed === 'string') {
    checker.report([...path, 'mark'], parsed);
    return null;
  }
  return parsed;
}

/** "VALUE" or "VALUE/MASK", decimal or 0x hex, each 0..0xffffffff (iptables -m mark --mark syntax). */
export function parseMark(value: unknown): Mark | string {
  const fix = 'write VALUE or VALUE/MASK, decimal or 0x hex, e.g. "0x10/0xff"';
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= U32_MAX) return { value, mask: U32_MAX };
    return `${value} is not a 32-bit mark; ${fix}`;
  }
  if (typeof value !== 'string') return `${describe(value)} is not a mark; ${fix}`;
  const m = /^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})(?:\/(0x[0-9a-fA-F]{1,8}|[0-9]{1,10}))?$/.exec(value.trim());
  if (m === null) return `"${value}" is not a mark; ${fix}`;
  const v = Number(m[1]);
  const mask = m[2] === undefined ? U32_MAX : Number(m[2]);
  if (v > U32_MAX || mask > U32_MAX) return `"${value}" does not fit 32 bits; ${fix}`;
  if ((v & ~mask) >>> 0 !== 0) return `"${value}" sets bits outside its mask, so it can never match; clear them or widen the mask`;
  return { value: v, mask };
}

// Exposed for tests and the CLI check.
export const MSS_BOUNDS = { min: MSS_MIN, maxIpv4: MSS_MAX_IPV4, maxIpv6: MSS_MAX_IPV6 } as const;
