// The kernel's answer to "what MTU has the route towards this address", over rtnetlink, and a
// generation word that changes whenever a route or link does. PathMtuCache sits in front of it.
import { GenerationIndex, loadRouteMtuNative, type RouteMtuNative, type RouteMtuNativeConstructor, type RouteMtuNativeStats } from './native.js';

/** What PathMtuCache needs from a source of route MTUs (the real one below, or a test double). */
export interface RouteMtuSource {
  /** [GenerationIndex] changes whenever a route or link may have changed. */
  readonly state: Uint32Array;
  /** MTU of the route towards the address at bytes[offset..], through interface oif if not 0; 0 when unknown. */
  route(family: 4 | 6, bytes: Uint8Array, offset: number, oif: number): number;
  /** MTU of interface ifindex, 0 when unknown. */
  linkMtu(ifindex: number): number;
}

export interface RouteMtuOptions {
  /** Wait at most this long for one rtnetlink answer (ms); default 200. */
  timeoutMs?: number;
  /** The native class; default: loaded from the built addon. */
  native?: RouteMtuNativeConstructor;
}

const AddressLength = { 4: 4, 6: 16 } as const;

export class RouteMtu implements RouteMtuSource {
  readonly state = new Uint32Array(1);
  private readonly native: RouteMtuNative;

  constructor(options: RouteMtuOptions = {}) {
    const timeoutMs = options.timeoutMs ?? 200;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 10_000) {
      throw new RangeError(`timeoutMs must be an integer from 1 to 10000, not ${timeoutMs}`);
    }
    const Native = options.native ?? loadRouteMtuNative();
    this.native = new Native(this.state, { timeoutMs });
  }

  get generation(): number {
    return this.state[GenerationIndex]!;
  }

  route(family: 4 | 6, bytes: Uint8Array, offset: number, oif: number): number {
    const length = AddressLength[family];
    if (length === undefined || !Number.isInteger(offset) || offset < 0 || offset + length > bytes.length || !(oif >= 0)) return 0;
    return this.native.route(family, bytes, offset, oif >>> 0);
  }

  linkMtu(ifindex: number): number {
    if (!Number.isInteger(ifindex) || ifindex <= 0) return 0;
    return this.native.linkMtu(ifindex >>> 0);
  }

  stats(): RouteMtuNativeStats {
    return this.native.stats();
  }

  get isOpen(): boolean {
    return this.native.isOpen;
  }

  /** Closes both netlink sockets; route() and linkMtu() answer 0 afterwards. */
  close(): void {
    this.native.close();
  }
}
