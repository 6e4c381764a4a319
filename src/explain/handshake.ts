// One TCP connection as one capture saw it: the SYN, the SYN/ACK, the first data each way, the largest
// payload each way and the too-big messages that quote it. Everything a capture keeps per connection
// lives here, so memory grows with connections, never with packets.

/** A SYN or SYN/ACK as captured. */
export interface SegmentSeen {
  /** Value of the MSS option, null when there is none. */
  mss: number | null;
  /** Option kinds in order (p0f names). */
  options: string;
  seq: number;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number;
  wscale: number | null;
  tsVal: number | null;
  /** Capture time in seconds (with the fraction). */
  time: number;
}

/** A too-big message quoting this connection: its MTU, and which way the quoted segment was going. */
export interface TooBigSeen {
  mtu: number;
  /** The quoted segment went from the client to the server. */
  toServer: boolean;
}

const NO_TOO_BIG: readonly TooBigSeen[] = Object.freeze([]);

export class Handshake {
  syn: SegmentSeen | null = null;
  synAck: SegmentSeen | null = null;
  /** TTL / hop limit of the first segment with data from each end: what a packet that really came
   * from that end looks like here (-1 = none seen). */
  clientDataTtl = -1;
  serverDataTtl = -1;
  /** Largest TCP payload after the handshake (-1 = none). */
  largestToServer = -1;
  largestToClient = -1;
  /** Too-big messages quoting this connection (a shared empty list until the first: most have none). */
  tooBig: readonly TooBigSeen[] = NO_TOO_BIG;
  /** Bookkeeping of the capture's table: the client is the lower endpoint of the connection key, so
   * a later packet's direction is one comparison. */
  clientFirst = false;

  constructor(
    readonly family: 4 | 6,
    readonly client: string,
    readonly clientPort: number,
    readonly server: string,
    readonly serverPort: number,
    /** Position in the capture (0, 1, ...), in order of the first segment seen. */
    readonly index: number,
    /** Time of the first segment seen, seconds. */
    readonly firstSeen: number,
  ) {}

  /** Records a too-big message once per MTU and direction. */
  addTooBig(mtu: number, toServer: boolean): void {
    if (!this.tooBig.some((t) => t.mtu === mtu && t.toServer === toServer)) this.tooBig = [...this.tooBig, { mtu, toServer }];
  }
}
