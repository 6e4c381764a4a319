// Capture pairs for `mssmangler explain` lab tests: tcpdump on the client's and the server's interface
// (A and B), real connections carrying data between them, then the real CLI on the two files. The
// captures are read back independently with the lab's own pcap reader so that tests check the JSON
// against what the files hold, not against what explain thinks they hold.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CLI } from '../lab/daemon.js';
import { Lab, LabInterface, type Host } from '../lab/lab.js';
import { run } from '../lab/run.js';
import { readPcap } from '../lab/pcap.js';
import type { ExplainReport, HandshakeReport, SideReport } from '../../src/explain/report.js';

export interface CaptureSpec {
  /** 'eth0' (Ethernet) or 'any' (Linux cooked v2 with tcpdump 4.99). */
  iface: string;
  /** pcap as tcpdump writes it, or converted to pcapng with editcap. */
  format: 'pcap' | 'pcapng';
}

export interface CapturePair {
  /** Stops both tcpdumps; returns the file paths (A = client side, B = server side) and the pcap files
   * tcpdump wrote (the same packets, for the independent reader). */
  stop(): Promise<{ a: string; b: string; pcapA: string; pcapB: string }>;
}

/** A scratch directory removed after the test. */
export function scratchDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mm-explain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startTcpdump(lab: Lab, host: Host, iface: string, file: string) {
  // --immediate-mode: without it packets wait in the ring for a block timeout and a capture stopped
  // right after the traffic misses them.
  const tcpdump = lab.spawn(host, 'tcpdump', ['-i', iface, '-n', '--immediate-mode', '-U', '-s', '0', '-w', file, 'tcp or icmp or icmp6']);
  await tcpdump.waitFor(/listening on/, 5000);
  return tcpdump;
}

/** tcpdump at the client (A) and the server (B). */
export async function captureBothSides(lab: Lab, dir: string, a: CaptureSpec, b: CaptureSpec): Promise<CapturePair> {
  const rawA = join(dir, 'a.pcap');
  const rawB = join(dir, 'b.pcap');
  const ifaceOf = (spec: CaptureSpec, host: 'client' | 'server') => (spec.iface === 'any' ? 'any' : LabInterface[host]);
  const dumpA = await startTcpdump(lab, 'client', ifaceOf(a, 'client'), rawA);
  const dumpB = await startTcpdump(lab, 'server', ifaceOf(b, 'server'), rawB);
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 150));
      await Promise.all([dumpA.stop('SIGINT'), dumpB.stop('SIGINT')]);
      const convert = async (raw: string, spec: CaptureSpec, name: string): Promise<string> => {
        if (spec.format === 'pcap') return raw;
        const out = join(dir, `${name}.pcapng`);
        await run('editcap', ['-F', 'pcapng', raw, out]);
        return out;
      };
      return { a: await convert(rawA, a, 'a'), b: await convert(rawB, b, 'b'), pcapA: rawA, pcapB: rawB };
    },
  };
}

/** `mssmangler explain A B --json`, parsed; asserts exit 0. */
export async function explainJson(a: string, b?: string): Promise<ExplainReport> {
  const { stdout } = await run(process.execPath, [CLI, 'explain', a, ...(b === undefined ? [] : [b]), '--json']);
  return JSON.parse(stdout) as ExplainReport;
}

/** `mssmangler explain A [B]` for people (piped: no colour). */
export async function explainText(a: string, b?: string): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, 'explain', a, ...(b === undefined ? [] : [b])]);
  return stdout;
}

/** The handshake whose A side (or B side) has this client port. */
export function byClientPort(report: ExplainReport, side: 'a' | 'b', port: number, family: 4 | 6): HandshakeReport {
  const found = report.handshakes.filter((h) => h.family === family && h[side]?.clientPort === port);
  assert.equal(found.length, 1, `one IPv${family} handshake with client port ${port} at ${side.toUpperCase()}; report: ${JSON.stringify(report, null, 1)}`);
  return found[0]!;
}

/** What the pcap file itself holds about one connection, read with the lab's independent reader: the
 * SYN and SYN/ACK MSS and sequence numbers, and the largest payload each way. Only for pcap files. */
export interface FileFacts {
  synMss: number | null;
  synSeq: number;
  synTtl: number;
  synAckMss: number | null;
  synAckSeq: number;
  synAckTtl: number;
  largestToServer: number;
  largestToClient: number;
}

/** Facts about the connection from (clientPort) to (serverPort) in a tcpdump pcap file. */
export function fileFacts(file: string, family: 4 | 6, clientPort: number, serverPort: number): FileFacts {
  const facts: FileFacts = { synMss: null, synSeq: -1, synTtl: -1, synAckMss: null, synAckSeq: -1, synAckTtl: -1, largestToServer: 0, largestToClient: 0 };
  for (const p of readPcap(readFileSync(file))) {
    const ip = p.ip;
    const version = ip[0]! >> 4;
    if (version !== family) continue;
    let l4: number;
    let ttl: number;
    let datagramEnd: number;
    if (version === 4) {
      if (ip[9] !== 6) continue;
      l4 = (ip[0]! & 0x0f) * 4;
      ttl = ip[8]!;
      datagramEnd = ip.readUInt16BE(2);
    } else {
      if (ip[6] !== 6) continue;
      l4 = 40;
      ttl = ip[7]!;
      datagramEnd = 40 + ip.readUInt16BE(4);
    }
    const sport = ip.readUInt16BE(l4);
    const dport = ip.readUInt16BE(l4 + 2);
    const toServer = sport === clientPort && dport === serverPort;
    const toClient = sport === serverPort && dport === clientPort;
    if (!toServer && !toClient) continue;
    const flags = ip[l4 + 13]!;
    const headerLength = (ip[l4 + 12]! >> 4) * 4;
    const seq = ip.readUInt32BE(l4 + 4);
    if ((flags & 0x02) !== 0) {
      const mss = mssOption(ip, l4 + 20, l4 + headerLength);
      if (toServer && facts.synSeq < 0) Object.assign(facts, { synMss: mss, synSeq: seq, synTtl: ttl });
      if (toClient && facts.synAckSeq < 0) Object.assign(facts, { synAckMss: mss, synAckSeq: seq, synAckTtl: ttl });
      continue;
    }
    const payload = datagramEnd - l4 - headerLength;
    if (toServer) facts.largestToServer = Math.max(facts.largestToServer, payload);
    else facts.largestToClient = Math.max(facts.largestToClient, payload);
  }
  return facts;
}

function mssOption(ip: Buffer, start: number, end: number): number | null {
  let mss: number | null = null;
  for (let i = start; i < end; ) {
    const kind = ip[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    const length = ip[i + 1]!;
    if (length < 2) break;
    if (kind === 2 && length === 4) mss = ip.readUInt16BE(i + 2);
    i += length;
  }
  return mss;
}

/** Checks one side of the JSON field by field against the file. */
export function assertSideMatchesFile(side: SideReport, facts: FileFacts, label: string): void {
  assert.equal(side.syn?.mss ?? null, facts.synMss, `${label} syn.mss`);
  assert.equal(side.syn?.seq, facts.synSeq, `${label} syn.seq`);
  assert.equal(side.syn?.ttl, facts.synTtl, `${label} syn.ttl`);
  assert.equal(side.synAck?.mss ?? null, facts.synAckMss, `${label} synAck.mss`);
  assert.equal(side.synAck?.seq, facts.synAckSeq, `${label} synAck.seq`);
  assert.equal(side.synAck?.ttl, facts.synAckTtl, `${label} synAck.ttl`);
  assert.equal(side.largestSegmentToServer, facts.largestToServer > 0 ? facts.largestToServer : null, `${label} largestSegmentToServer`);
  assert.equal(side.largestSegmentToClient, facts.largestToClient > 0 ? facts.largestToClient : null, `${label} largestSegmentToClient`);
}
