// Configuration is parsed, not just validated: one function turns YAML text (and flags) into a deeply
// frozen Config or into every problem found, each with its path, its line and the fix (OpenBSD rad:
// the whole file is rejected when anything is wrong, so a reload never half-applies).
import { LineCounter, parseDocument, type Document } from 'yaml';
import {
  ACTIONS,
  CHECK_INTERVAL_MAX_MS,
  CHECK_INTERVAL_MIN_MS,
  DEFAULTS,
  LOG_FORMATS,
  LOG_LEVELS,
  MSS_MAX_IPV4,
  MSS_MIN,
  mssMaxFor,
  type ActionChoice,
  type Config,
  type DirectionChoice,
  type FamilyChoice,
  type FirewallConfig,
  type LogFormat,
  type LogLevel,
  type Mark,
  type MetricsConfig,
  type PortRange,
  type Prefix,
  type Rule,
  type RuleMatch,
} from './config.js';
import { Checker, boolean, checkKeys, describe, integer, isRecord, oneOf, section, type Path, type Raw } from './checker.js';
import { RULE_NAME_PATTERN, isInterfaceName, parseDuration, parseListen, parseMark, parsePortRange } from './field-syntax.js';
import { applyFlags } from './flag-merge.js';
import type { ConfigFlags } from './flags.js';
import { parsePrefix } from './prefix.js';
import { QUEUE_MAX, parseQueueRange, type QueueRange } from './queue-range.js';
import { availableParallelism } from 'node:os';
import { checkSelection } from './selection.js';
import type { ConfigResult } from './problem.js';

const TOP_KEYS = [
  'queue',
  'queues',
  'queueCpuFanout',
  'queueMaxLen',
  'failOpen',
  'dryRun',
  'metrics',
  'log',
  'pmtu',
  'firewall',
  'rules',
] as const;
const FIREWALL_KEYS = ['manage', 'checkInterval'] as const;
const METRICS_KEYS = ['listen'] as const;
const LOG_KEYS = ['level', 'format'] as const;
const PMTU_KEYS = ['floorIpv4', 'floorIpv6'] as const;
const RULE_KEYS = ['name', 'match', 'action', 'mss', 'allowIncrease', 'insert', 'dryRun', 'select'] as const;
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

export { QUEUE_MAX } from './queue-range.js';
/** The kernel takes any u32 for NFQA_CFG_QUEUE_MAXLEN; beyond a million queued SYNs is a mistake. */
export const QUEUE_MAXLEN_MAX = 1_048_576;

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
          return {
            file: file.name,
            line: pos.line,
            column: pos.col,
            path: '',
            message: yamlMessage(e.code, e.message, file.text.slice(e.pos[0], e.pos[1])),
          };
        }),
      };
    }
    try {
      // maxAliasCount stops alias bombs ("billion laughs") from expanding without bound.
      raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        problems: [
          { file: file.name, line: null, column: null, path: '', message: `cannot be expanded: ${message}; use fewer YAML aliases` },
        ],
      };
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

/**
 * `queues:` "FIRST-LAST", or auto (one queue per online CPU, from `queue`); absent: the one queue
 * `queue`. A range names its own first queue, so `queue` beside it would say it twice.
 */
function queueRange(raw: Raw, queue: number, checker: Checker): QueueRange {
  const single = { first: queue, last: queue };
  const value = raw.queues;
  if (value === undefined) return single;
  if (value === 'auto') {
    const last = Math.min(queue + availableParallelism() - 1, QUEUE_MAX);
    return { first: queue, last };
  }
  if (typeof value !== 'string') {
    checker.report(['queues'], `${describe(value)} is not a queue range; write "FIRST-LAST" (e.g. "0-3") or auto`);
    return single;
  }
  const range = parseQueueRange(value, '-');
  if (typeof range === 'string') {
    checker.report(['queues'], range);
    return single;
  }
  if (raw.queue !== undefined) {
    checker.report(['queue'], `queues: "${value}" already names the first queue; remove queue (or write queues: auto to start at it)`);
  }
  return range;
}

function checkConfig(raw: Raw, checker: Checker, file: string | null): Config | null {
  checkKeys(raw, [], TOP_KEYS, checker);
  const queue = integer(raw, 'queue', [], checker, DEFAULTS.queue, 0, QUEUE_MAX, 'a queue number');
  const queues = queueRange(raw, queue, checker);
  const queueCpuFanout = boolean(raw, 'queueCpuFanout', [], checker, false);
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

  const firewall = checkFirewall(raw, checker);

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
  return { file, queue: queues.first, queues, queueCpuFanout, queueMaxLen, failOpen, dryRun, metrics, log, pmtu, firewall, rules };
}

function checkFirewall(raw: Raw, checker: Checker): FirewallConfig {
  const fw = section(raw, 'firewall', [], checker, '{ manage: true, checkInterval: "5s" }') ?? {};
  checkKeys(fw, ['firewall'], FIREWALL_KEYS, checker);
  const manage = boolean(fw, 'manage', ['firewall'], checker, DEFAULTS.manageFirewall);
  let checkIntervalMs: number = DEFAULTS.firewallCheckIntervalMs;
  if (fw.checkInterval !== undefined) {
    const parsed = parseDuration(fw.checkInterval, CHECK_INTERVAL_MIN_MS, CHECK_INTERVAL_MAX_MS);
    if (typeof parsed === 'string') checker.report(['firewall', 'checkInterval'], parsed);
    else checkIntervalMs = parsed;
  }
  return { manage, checkIntervalMs };
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
    checker.report(
      [...path, 'name'],
      `${describe(ruleRaw.name)} is not a rule name; use 1..64 of a-z, 0-9, - and _ (it becomes a metric label)`,
    );
  } else name = ruleRaw.name;

  const matchRaw = section(ruleRaw, 'match', path, checker, '{ family: 6, direction: syn }') ?? {};
  const match = checkMatch(matchRaw, [...path, 'match'], checker);

  let action: ActionChoice = 'set';
  if (ruleRaw.action === undefined) {
    checker.report(path, 'has no action; add "action: set" with "mss: N", or "action: clamp-to-pmtu"');
  } else action = oneOf(ruleRaw, 'action', path, checker, 'set', ACTIONS);

  // set and oversize aim for mss, duplicate appends it; clamp-to-pmtu, strip and zero take none.
  const needsMss = action === 'set' || action === 'oversize' || action === 'duplicate';
  let mss = 0;
  if (needsMss) {
    if (ruleRaw.mss === undefined) {
      if (ruleRaw.action === action) {
        const what = action === 'duplicate' ? 'the value of the second MSS option' : 'the target';
        checker.report(path, `action ${action} needs "mss: N" (${what}, ${MSS_MIN}..${mssMaxFor(effectiveFamily(match))}); add it`);
      }
    } else mss = mssValue(ruleRaw.mss, [...path, 'mss'], checker, effectiveFamily(match), 0);
  } else if (ruleRaw.mss !== undefined) {
    const fix =
      action === 'clamp-to-pmtu'
        ? 'clamp-to-pmtu computes the MSS from the path MTU; remove mss, or use action: set'
        : `${action} takes no MSS; remove mss (duplicate appends one, set and oversize write one)`;
    checker.report([...path, 'mss'], fix);
  }

  // oversize is the named shorthand for set with allowIncrease (raise on purpose, README "Fault injection").
  let allowIncrease = boolean(ruleRaw, 'allowIncrease', path, checker, false);
  if (action === 'oversize') {
    if (ruleRaw.allowIncrease === false)
      checker.report([...path, 'allowIncrease'], 'oversize always raises the MSS; remove allowIncrease, or use action: set');
    allowIncrease = true;
  } else if (ruleRaw.allowIncrease !== undefined && action !== 'set' && action !== 'clamp-to-pmtu') {
    checker.report([...path, 'allowIncrease'], `${action} does not compare MSS values; remove allowIncrease`);
  }
  let insert: boolean | number = true;
  const insertRaw = ruleRaw.insert;
  if (insertRaw !== undefined && (action === 'strip' || action === 'zero' || action === 'duplicate')) {
    checker.report([...path, 'insert'], `${action} only breaks an MSS option that is there and never inserts one; remove insert`);
  } else if (typeof insertRaw === 'boolean') insert = insertRaw;
  else if (typeof insertRaw === 'number') insert = mssValue(insertRaw, [...path, 'insert'], checker, effectiveFamily(match), 0);
  else if (insertRaw !== undefined) {
    checker.report(
      [...path, 'insert'],
      `${describe(insertRaw)} is not allowed; use true (kernel: min(target, 536/1220)), false, or an MSS ${MSS_MIN}..${mssMaxFor(effectiveFamily(match))}`,
    );
  }
  const dryRun = boolean(ruleRaw, 'dryRun', path, checker, false);
  const select = checkSelection(ruleRaw, path, checker);
  return { name, match, action, mss, allowIncrease, insert, dryRun, select };
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
      checker.report(
        [...path, 'destination'],
        `source has only IPv${[...s][0]} prefixes and destination only IPv${[...d][0]}, so the rule can never match; split it into one rule per family`,
      );
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
  if (items.length === 0)
    checker.report([...path, key], 'is an empty list, which would match nothing; remove the key to match any address');
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
