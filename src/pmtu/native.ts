// The native contract of RouteMtu (addon/src/route_mtu.cc), in one place. C++ checks only types;
// the values are checked in route-mtu.ts before they cross.
import { createRequire } from 'node:module';

/** Index of the generation word in the state array: C++ adds one for every batch of route, rule or link changes. */
export const GenerationIndex = 0;

export interface RouteMtuNativeOptions {
  /** How long one rtnetlink request may wait for its answer (ms). */
  timeoutMs?: number;
}

export interface RouteMtuNativeStats {
  routeRequests: number;
  routeNoMtu: number;
  routeErrors: number;
  inputFallbacks: number;
  linkRequests: number;
  linkErrors: number;
  timeouts: number;
  sendErrors: number;
  notifications: number;
  overruns: number;
}

export interface RouteMtuNative {
  /**
   * MTU of the route towards the address at bytes[dstOffset..] (4 or 16 bytes) from the one at
   * bytes[srcOffset..] (-1: no source), as the kernel routes it: the input lookup when iif is not 0,
   * else the output lookup through oif if not 0; with firewall mark `mark`. 0 when unknown.
   */
  route(family: 4 | 6, bytes: Uint8Array, dstOffset: number, srcOffset: number, iif: number, oif: number, mark: number): number;
  /** MTU of interface ifindex; 0 when there is no such interface. */
  linkMtu(ifindex: number): number;
  close(): void;
  stats(): RouteMtuNativeStats;
  readonly isOpen: boolean;
}

export type RouteMtuNativeConstructor = new (state: Uint32Array, options?: RouteMtuNativeOptions) => RouteMtuNative;

/**
 * Where RouteMtu is built: the main module once it includes addon/src/route_mtu.cc, else the
 * standalone test module (`npm run build:route-mtu-test`). Paths are from dist/src/pmtu/.
 */
export const RouteMtuModulePaths = [
  '../../../addon/build/Release/nfqueue_bindings.node',
  '../../../addon/route-mtu-test/build/Release/route_mtu_test.node',
] as const;

export class RouteMtuBindingError extends Error {
  readonly code = 'PMTU_ERR_BINDING';
}

/** The RouteMtu class from the first module that has it. */
export function loadRouteMtuNative(): RouteMtuNativeConstructor {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const path of RouteMtuModulePaths) {
    const file = new URL(path, import.meta.url).pathname;
    try {
      const mod = require(file) as { RouteMtu?: RouteMtuNativeConstructor };
      if (typeof mod.RouteMtu === 'function') return mod.RouteMtu;
      tried.push(`${file}: no RouteMtu export`);
    } catch (err) {
      tried.push(`${file}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new RouteMtuBindingError(
    `the RouteMtu addon is not built (run npm ci, or npm run build:route-mtu-test): ${tried.join('; ')}`,
  );
}
