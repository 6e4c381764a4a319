// Interface names in rules become ifindex numbers, because the queue reports indev/outdev by index.
// Links come and go (a VPN interface appears after the daemon starts, is recreated with a new index),
// so the run loop calls resolveInterfaces at start, on rtnetlink link events or periodically. A name
// that does not exist leaves its rule matching nothing until it appears: never a crash.
import { readFileSync } from 'node:fs';
import { isInterfaceName } from '../config/field-syntax.js';
import { IFINDEX_ANY, IFINDEX_MISSING, type RuleSet } from './rule-set.js';

/** name -> ifindex, or null when there is no such interface. */
export type IfIndexLookup = (name: string) => number | null;

/** Reads /sys/class/net/NAME/ifindex (sysfs of the network namespace that mounted /sys). */
export function readIfIndex(name: string): number | null {
  if (!isInterfaceName(name)) return null;
  try {
    const index = Number.parseInt(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'), 10);
    return Number.isInteger(index) && index > 0 ? index : null;
  } catch {
    return null;
  }
}

export interface InterfaceResolution {
  /** Names no interface has now: their rules match nothing (log a warning). */
  readonly missing: readonly string[];
  /** True when any rule's index changed (log at info when it did). */
  readonly changed: boolean;
}

/** Updates the rule set's index tables in place. Cheap: one sysfs read per distinct name. */
export function resolveInterfaces(rules: RuleSet, lookup: IfIndexLookup = readIfIndex): InterfaceResolution {
  const cache = new Map<string, number | null>();
  const missing = new Set<string>();
  let changed = false;
  const resolve = (name: string | null, table: Int32Array, i: number): void => {
    let index = IFINDEX_ANY;
    if (name !== null) {
      if (!cache.has(name)) cache.set(name, lookup(name));
      const found = cache.get(name) ?? null;
      if (found === null) missing.add(name);
      index = found ?? IFINDEX_MISSING;
    }
    if (table[i] !== index) {
      table[i] = index;
      changed = true;
    }
  };
  for (let i = 0; i < rules.count; i++) {
    resolve(rules.inInterfaceNames[i] ?? null, rules.inIfIndex, i);
    resolve(rules.outInterfaceNames[i] ?? null, rules.outIfIndex, i);
  }
  return { missing: [...missing], changed };
}
