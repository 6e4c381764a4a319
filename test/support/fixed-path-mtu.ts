// A PathMtuSource for handler tests: every lookup answers `mtu` (0: no route, so the floor applies).
import type { PathMtuSource } from '../../src/daemon/packet-handler.js';

export function fixedPathMtu(mtu = 0): PathMtuSource {
  return { beginBatch: () => {}, lookup: () => mtu, linkFallbacks: 0, budgetFallbacks: 0 };
}
