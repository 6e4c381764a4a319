// The daemon in the lab: firewall rules and the real CLI inside the router namespace, TCP peers in the
// client and server namespaces, captures read back as MSS values, /metrics scraped from the router's
// loopback. Everything is started through the Lab, so lab.destroy() (in t.after) ends it.
import assert from 'node:assert/strict';
import { STARTUP_TIMEOUT_MS } from '../lab/daemon.js';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import { startCapture, type Capture } from '../lab/capture.js';
import type { TrackedProcess } from '../lab/process-group.js';
import type { CapturedIpPacket } from '../lab/pcap.js';
import { TcpFlag } from '../../src/packet/tcp.js';
import { readSyn } from '../queue/syn.js';

const PEER = fileURLToPath(new URL('./fixtures/tcp-peer.js', import.meta.url));

export const SERVER_PORT = 5001;

export interface ConnectionResult {
  id: number;
  family: 4 | 6;
  ok: boolean;
  localPort: number;
  sent: number;
  received: number;
  ms: number;
  error?: string;
}

/** A TCP server in the server namespace and a connecting client process in the client namespace. */
export class Peers {
  private nextId = 0;
  private readonly waiting = new Map<number, (r: ConnectionResult) => void>();

  private constructor(
    readonly server: TrackedProcess,
    readonly client: TrackedProcess,
  ) {
    createInterface({ input: client.child.stdout! }).on('line', (line) => {
      const result = JSON.parse(line) as ConnectionResult | { ready: true };
      if ('ready' in result) return;
      this.waiting.get(result.id)?.(result);
      this.waiting.delete(result.id);
    });
  }

  static async start(lab: Lab): Promise<Peers> {
    const server = lab.spawn('server', process.execPath, [PEER, 'server', String(SERVER_PORT)]);
    await server.waitFor(/"listening"/, STARTUP_TIMEOUT_MS);
    const client = lab.spawn('client', process.execPath, [PEER, 'client'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const peers = new Peers(server, client);
    // Requests written before the client reads its input would wait, and connect later than asked.
    await client.waitFor(/"ready":true/, STARTUP_TIMEOUT_MS);
    return peers;
  }

  /** One connection from the client to the server over IPv4 or IPv6, sending `bytes` bytes (from `localAddress` if given). */
  connect(family: 4 | 6, bytes = 1000, timeoutMs = 5000, localAddress?: string): Promise<ConnectionResult> {
    const id = ++this.nextId;
    const host = family === 4 ? LabAddress.server4 : LabAddress.server6;
    const done = new Promise<ConnectionResult>((resolve) => this.waiting.set(id, (r) => resolve({ ...r, family })));
    this.client.child.stdin!.write(`${JSON.stringify({ id, host, port: SERVER_PORT, bytes, timeoutMs, localAddress })}\n`);
    return done;
  }

  /** connect() and assert that the server counted every byte. */
  async transfer(family: 4 | 6, bytes = 1000, localAddress?: string): Promise<ConnectionResult> {
    const result = await this.connect(family, bytes, 5000, localAddress);
    assert.ok(result.ok, `IPv${family} connection of ${bytes} bytes failed: ${JSON.stringify(result)}`);
    assert.equal(result.received, bytes);
    return result;
  }
}

/** A connection in a capture: the client's family and port ("6:40312"); the server side is fixed. */
export function flowKey(connection: { family: 4 | 6; localPort: number }): string {
  return `${connection.family}:${connection.localPort}`;
}

/** What a capture saw of the handshakes: the MSS option of SYNs and SYN/ACKs, keyed by flowKey. */
export interface Handshakes {
  /** flowKey -> MSS of the SYN (client -> server). */
  syn: Map<string, number>;
  /** flowKey -> MSS of the SYN/ACK (server -> client). */
  synAck: Map<string, number>;
  packets: CapturedIpPacket[];
}

export function handshakes(packets: CapturedIpPacket[]): Handshakes {
  const syn = new Map<string, number>();
  const synAck = new Map<string, number>();
  for (const p of packets) {
    const view = readSyn(p.ip);
    if (!view || (view.flags & TcpFlag.SYN) === 0) continue;
    if ((view.flags & TcpFlag.ACK) === 0) syn.set(flowKey({ family: view.family, localPort: view.sport }), view.mss);
    else synAck.set(flowKey({ family: view.family, localPort: view.dport }), view.mss);
  }
  return { syn, synAck, packets };
}

/** Captures what the server receives and what the client receives (everything on each end's eth0, both directions). */
export async function captureBothEnds(
  lab: Lab,
  filter = 'tcp or icmp or icmp6',
): Promise<{ stop(): Promise<{ client: Handshakes; server: Handshakes }> }> {
  const client: Capture = await startCapture(lab, 'client', LabInterface.client, { filter });
  const server: Capture = await startCapture(lab, 'server', LabInterface.server, { filter });
  return {
    async stop() {
      const [c, s] = await Promise.all([client.stop(), server.stop()]);
      return { client: handshakes(c), server: handshakes(s) };
    },
  };
}

/** ICMPv6 Packet Too Big (type 2) messages among captured packets (no extension headers before ICMPv6). */
export function packetTooBig(packets: CapturedIpPacket[]): Array<{ mtu: number }> {
  const ICMPV6 = 58;
  return packets.filter((p) => p.ip[0]! >> 4 === 6 && p.ip[6] === ICMPV6 && p.ip[40] === 2).map((p) => ({ mtu: p.ip.readUInt32BE(44) }));
}
