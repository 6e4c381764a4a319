// The daemon in the lab: firewall rules and the real CLI inside the router namespace, TCP peers in the
// client and server namespaces, captures read back as MSS values, /metrics scraped from the router's
// loopback. Everything is started through the Lab, so lab.destroy() (in t.after) ends it.
import assert from 'node:assert/strict';
import { CLI, fetchInRouter, jsonLines } from '../lab/daemon.js';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import { startCapture, type Capture } from '../lab/capture.js';
import type { TrackedProcess } from '../lab/process-group.js';
import type { CapturedPacket } from '../lab/pcap.js';
import { TcpFlag } from '../../src/packet/tcp.js';
import { readSyn } from '../queue/syn.js';

/** The built CLI (dist/src/cli/main.js), by absolute path: the daemon runs from `ip netns exec`. */
export { CLI };
const PEER = fileURLToPath(new URL('./fixtures/tcp-peer.js', import.meta.url));

export const SERVER_PORT = 5001;
/** Node's start-up takes well under a second alone, but several seconds while the whole suite runs on 2 cores. */
const STARTUP_TIMEOUT_MS = 20_000;
export const METRICS_URL = 'http://127.0.0.1:9465/metrics';

/** `mssmangler rules --apply ARGS` inside the router: NFQUEUE rules for SYN and SYN/ACK. */
export async function applyRules(lab: Lab, args: readonly string[]): Promise<void> {
  await lab.exec('router', process.execPath, [CLI, 'rules', '--apply', ...args]);
}

export interface RunningDaemon {
  readonly process: TrackedProcess;
  /** The JSON log lines so far. */
  logLines(): Array<Record<string, unknown>>;
  /** Waits for a log line whose msg is `message` after the first `skip` such lines. */
  waitForLog(message: string | RegExp, skip?: number, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Starts `mssmangler run ARGS` in the router and waits for its "started" line. */
export async function startDaemon(lab: Lab, args: readonly string[]): Promise<RunningDaemon> {
  const child = lab.spawn('router', process.execPath, [CLI, 'run', '--log-format', 'json', ...args]);
  const logLines = (): Array<Record<string, unknown>> => jsonLines(child.stdout);
  const daemon: RunningDaemon = {
    process: child,
    logLines,
    async waitForLog(message, skip = 0, timeoutMs = STARTUP_TIMEOUT_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hits = logLines().filter((l) =>
          typeof message === 'string' ? l['msg'] === message : message.test(String(l['msg'])),
        );
        if (hits.length > skip) return hits[skip]!;
        if (!child.running) throw new Error(`daemon exited: ${child.stderr.trim()} ${child.stdout.trim()}`);
        if (Date.now() > deadline) throw new Error(`no log line ${String(message)} within ${timeoutMs} ms; log:\n${child.stdout}${child.stderr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
  await daemon.waitForLog('started', 0, STARTUP_TIMEOUT_MS);
  return daemon;
}

/** The daemon's /metrics text, fetched from inside the router (it listens on the router's loopback). */
export async function scrape(lab: Lab, url = METRICS_URL): Promise<string> {
  return fetchInRouter(lab, url);
}

/** The value of one sample in an exposition text (labels must all match; others are ignored); 0 if absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have[pair[1]!] = pair[2]!;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) {
      total += Number(m[3]);
      found = true;
    }
  }
  return found ? total : 0;
}

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
  packets: CapturedPacket[];
}

export function handshakes(packets: CapturedPacket[]): Handshakes {
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
export async function captureBothEnds(lab: Lab, filter = 'tcp or icmp or icmp6'): Promise<{ stop(): Promise<{ client: Handshakes; server: Handshakes }> }> {
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
export function packetTooBig(packets: CapturedPacket[]): Array<{ mtu: number }> {
  const ICMPV6 = 58;
  return packets
    .filter((p) => p.ip[0]! >> 4 === 6 && p.ip[6] === ICMPV6 && p.ip[40] === 2)
    .map((p) => ({ mtu: p.ip.readUInt32BE(44) }));
}
