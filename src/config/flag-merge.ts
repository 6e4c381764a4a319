// Flags over the file: values the command line gives replace the file's, before the whole result is
// checked, and each replaced path remembers its flag so a problem names the flag rather than a line.
import { isRecord, type Checker, type Raw } from './checker.js';
import { CLI_RULE_NAME, FLAG_FOR_FIELD, hasRuleFlags, type ConfigFlags } from './flags.js';

/** Write flag values into the raw document, remembering which paths they supplied. */
export function applyFlags(fileRaw: Raw, flags: ConfigFlags, checker: Checker): Raw {
  const raw: Raw = { ...fileRaw };
  const set = (key: string, value: unknown, flag: string): void => {
    raw[key] = value;
    checker.overridden.set(key, flag);
  };
  if (flags.queueBalance !== undefined) {
    // The command line spells the range as iptables does (0:3), the file as nft does (0-3).
    set('queues', flags.queueBalance.replace(':', '-'), FLAG_FOR_FIELD.queues);
    delete raw.queue;
  } else if (flags.queue !== undefined) {
    set('queue', flags.queue, FLAG_FOR_FIELD.queue);
    // --queue N alone is one queue, whatever range the file names (auto still starts at N).
    if (raw.queues !== 'auto') delete raw.queues;
  }
  if (flags.queueCpuFanout !== undefined) set('queueCpuFanout', flags.queueCpuFanout, FLAG_FOR_FIELD.queueCpuFanout);
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

  // The file's other firewall settings (checkInterval) stay; a firewall: that is no mapping is the file's problem.
  if (flags.manageFirewall !== undefined && (raw.firewall === undefined || raw.firewall === null || isRecord(raw.firewall))) {
    raw.firewall = { ...(isRecord(raw.firewall) ? raw.firewall : {}), manage: flags.manageFirewall };
    checker.overridden.set('firewall.manage', FLAG_FOR_FIELD.manageFirewall);
  }

  const ruleFlagsGiven = hasRuleFlags(flags) || flags.allowIncrease !== undefined || flags.direction !== undefined;
  if (!ruleFlagsGiven) return raw;
  let rules: unknown[];
  if (raw.rules !== undefined && raw.rules !== null && !Array.isArray(raw.rules)) return raw;
  if (Array.isArray(raw.rules) && raw.rules.length > 0) {
    rules = raw.rules.map((r) => (isRecord(r) ? { ...r, match: isRecord(r.match) ? { ...r.match } : r.match } : r));
  } else {
    if (!hasRuleFlags(flags)) {
      checker.report(
        [],
        `${flags.direction !== undefined ? '--direction' : '--allow-increase'} needs a rule: add --set-mss N or --clamp-mss-to-pmtu`,
      );
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
