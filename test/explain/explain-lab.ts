// Capture pairs for `mssmangler explain` lab tests: tcpdump on the client's and the server's interface
// (A and B), real connections carrying data between them, then the real CLI on the two files. The
// captures are read back with tshark so that tests check the JSON against what the files hold, not
// against what explain (or the capture reader it shares with the lab) thinks they hold.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CLI } from '../lab/daemon.js';
import { Lab, LabInterface, type Host } from '../lab/lab.js';
import { run } from '../lab/run.js';
import { assertNothingDropped, TCPDUMP_RING_OPTIONS } from '../lab/tcpdump-ring.js';
import type { ExplainReport, HandshakeReport, SideReport } from '../../src/explain/report.js';

export interface CaptureSpec {
  /** 'eth0' (Ethernet) or 'any' (Linux cooked v2 with tcpdump 4.99). */
  iface: string;
  /** pcap as tcpdump writes it, or converted to pcapng with editcap. */
  format: 'pcap' | 'pcapng';
}

export interface CapturePair {
  /** Stops both tcpdumps; returns the file paths (A = client side, B = server side). */
  stop(): Promise<{ a: string; b: string }>;
}

/** A scratch directory removed after the test. */
export function scratchDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'mm-explain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function startTcpdump(lab: Lab, host: Host, iface: string, file: string) {
  const tcpdump = lab.spawn(host, 'tcpdump', ['-i', iface, '-n', ...TCPDUMP_RING_OPTIONS, '-w', file, 'tcp or icmp or icmp6']);
  await tcpdump.waitFor(/listening on/, 5000);
  return tcpdump;
}

/** Resolves when `file` has not grown for QUIET_MS (at most QUIET_LIMIT_MS in all). */
const QUIET_MS = 1000;
const QUIET_LIMIT_MS = 5000;
async function untilQuiet(file: string): Promise<void> {
  const deadline = Date.now() + QUIET_LIMIT_MS;
  let size = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const now = existsSync(file) ? statSync(file).size : 0;
    if (now !== size) {
      size = now;
      since = Date.now();
    } else if (Date.now() - since >= QUIET_MS) return;
    await new Promise((r) => setTimeout(r, 50));
  }
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
      // tcpdump -U writes each packet as it reads it; on a loaded machine it reads late, and SIGINT
      // would throw away what is still in the kernel's ring. Stop once both files have stopped growing.
      await Promise.all([untilQuiet(rawA), untilQuiet(rawB)]);
      const [exitA, exitB] = await Promise.all([dumpA.stop('SIGINT'), dumpB.stop('SIGINT')]);
      assertNothingDropped(exitA.stderr, 'at A');
      assertNothingDropped(exitB.stderr, 'at B');
      const convert = async (raw: string, spec: CaptureSpec, name: string): Promise<string> => {
        if (spec.format === 'pcap') return raw;
        const out = join(dir, `${name}.pcapng`);
        await run('editcap', ['-F', 'pcapng', raw, out]);
        return out;
      };
      return { a: await convert(rawA, a, 'a'), b: await convert(rawB, b, 'b') };
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
  assert.equal(
    found.length,
    1,
    `one IPv${family} handshake with client port ${port} at ${side.toUpperCase()}; report: ${JSON.stringify(report, null, 1)}`,
  );
  return found[0]!;
}

/** What the capture file itself holds about one connection, as tshark reads it (an independent
 * dissector: link layers, IP, TCP options): the SYN and SYN/ACK as first seen, and the largest payload
 * each way. */
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

const TSHARK_FIELDS = [
  'ip.version',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.flags.syn',
  'tcp.flags.ack',
  'tcp.flags.reset',
  'tcp.options.mss_val',
  'tcp.seq_raw',
  'ip.ttl',
  'ipv6.hlim',
  'tcp.len',
];

/** Facts about the connection between client port and server port of one family, from tshark. */
export async function fileFacts(file: string, family: 4 | 6, clientPort: number, serverPort: number): Promise<FileFacts> {
  const args = [
    '-r',
    file,
    '-n',
    '-Y',
    `tcp and not icmp and not icmpv6 and ${family === 4 ? 'ip' : 'ipv6'}`,
    '-T',
    'fields',
    '-E',
    'separator=;',
    '-E',
    'occurrence=l',
  ];
  for (const f of TSHARK_FIELDS) args.push('-e', f);
  const { stdout } = await run('tshark', args);
  const facts: FileFacts = {
    synMss: null,
    synSeq: -1,
    synTtl: -1,
    synAckMss: null,
    synAckSeq: -1,
    synAckTtl: -1,
    largestToServer: 0,
    largestToClient: 0,
  };
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const [, sport, dport, syn, ack, reset, mss, seq, ttl, hlim, length] = line.split(';');
    const toServer = Number(sport) === clientPort && Number(dport) === serverPort;
    const toClient = Number(sport) === serverPort && Number(dport) === clientPort;
    if (!toServer && !toClient) continue;
    const hops = Number(family === 4 ? ttl : hlim);
    if (syn === '1' && reset !== '1') {
      const value = mss === '' ? null : Number(mss);
      if (toServer && ack !== '1' && facts.synSeq < 0) Object.assign(facts, { synMss: value, synSeq: Number(seq), synTtl: hops });
      if (toClient && ack === '1' && facts.synAckSeq < 0)
        Object.assign(facts, { synAckMss: value, synAckSeq: Number(seq), synAckTtl: hops });
      continue;
    }
    if (toServer) facts.largestToServer = Math.max(facts.largestToServer, Number(length));
    else facts.largestToClient = Math.max(facts.largestToClient, Number(length));
  }
  return facts;
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
