// The kernel's answer to "what MTU has the route this packet takes", over rtnetlink, and a
// generation word that changes whenever a route, rule or link does. PathMtuCache sits in front of it.
import { GenerationIndex, type RouteMtuNative, type RouteMtuNativeConstructor, type RouteMtuNativeStats } from '../native/contract.js';

/** What PathMtuCache needs from a source of route MTUs (the real one below, or a test double). */
export interface RouteMtuSource {
  /** [GenerationIndex] changes whenever a route, rule or link may have changed. */
  readonly state: Uint32Array;
  /**
   * MTU of the route a packet from bytes[srcOffset..] (-1: no source) to bytes[dstOffset..] takes:
   * forwarded (iif not 0: the kernel's input lookup, which `ip rule from/iif/fwmark` steer) or sent
   * from here (iif 0: the output lookup, through oif if not 0); `mark` is the packet's firewall mark.
   * 0 when unknown. The route back to an address is route(family, bytes, addrOffset, -1, 0, 0, 0),
   * the lookup tcpmss_reverse_mtu makes.
   */
  route(family: 4 | 6, bytes: Uint8Array, dstOffset: number, srcOffset: number, iif: number, oif: number, mark: number): number;
  /** MTU of interface ifindex, 0 when unknown. */
  linkMtu(ifindex: number): number;
}

export interface RouteMtuOptions {
  /** Wait at most this long for one rtnetlink answer (ms); default 200. */
  timeoutMs?: number;
  /** The native class: NativeBinding.RouteMtu from loadNative(), or a double. */
  native: RouteMtuNativeConstructor;
}

const AddressLength = { 4: 4, 6: 16 } as const;

function inside(offset: number, length: number, bytes: Uint8Array): boolean {
  return Number.isInteger(offset) && offset >= 0 && offset + length <= bytes.length;
}

export class RouteMtu implements RouteMtuSource {
  readonly state = new Uint32Array(1);
  private readonly native: RouteMtuNative;

  constructor(options: RouteMtuOptions) {
    const timeoutMs = options.timeoutMs ?? 200;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 10_000) {
      throw new RangeError(`timeoutMs must be an integer from 1 to 10000, not ${timeoutMs}`);
    }
    this.native = new options.native(this.state, { timeoutMs });
  }

  get generation(): number {
    return this.state[GenerationIndex]!;
  }

  route(family: 4 | 6, bytes: Uint8Array, dstOffset: number, srcOffset: number, iif: number, oif: number, mark: number): number {
    const length = AddressLength[family];
    if (length === undefined || !inside(dstOffset, length, bytes) || (srcOffset !== -1 && !inside(srcOffset, length, bytes))) return 0;
    if (!(iif >= 0 && oif >= 0 && mark >= 0)) return 0;
    return this.native.route(family, bytes, dstOffset, srcOffset, iif >>> 0, oif >>> 0, mark >>> 0);
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
