// `npm run demo`: the daemon end to end on a fresh machine, as root, in a few seconds.
//
// Builds client, router and server network namespaces (test/lab/lab.ts), installs the NFQUEUE rules in
// the router with `mssmangler rules --apply`, starts `mssmangler run` there, opens one real TCP
// connection over IPv4 and one over IPv6 from the client to a small server, captures the SYN and the
// SYN/ACK at both ends, prints the MSS each sender put in and each receiver got, shows the daemon's
// counters, and removes everything again (on success, failure, Ctrl-C or SIGTERM).
//
//   npm run demo                      # --set-mss 1380
//   npm run demo -- --set-mss 1300
//   npm run demo -- --clamp 1400      # --clamp-mss-to-pmtu, router routes at mtu 1400
//
// Exit 0 only when every connection worked and every MSS is what the daemon must produce: the
// smaller of what the sender offered and the target (xt_TCPMSS never raises an MSS unless told to),
// with a TCP checksum that verifies at the receiver.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, LabAddress, LabInterface, type Host } from '../test/lab/lab.js';
import { startCapture } from '../test/lab/capture.js';
import type { CapturedIpPacket } from '../test/lab/pcap.js';
import type { TrackedProcess } from '../test/lab/process-group.js';
import { kernelWalkMssOffsets, mssAt, tcpChecksumOk, viewSegment } from '../test/differential/segment-view.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const node = process.execPath;

const SERVER_PORT = 8080;
const QUEUE = 0;
const METRICS_URL = 'http://127.0.0.1:9465/metrics';
/** The demo itself (system packages installed) takes about 5 s; past this something hangs. */
const DEADLINE_MS = 60_000;
/** IPv4 and TCP headers without options (RFC 879 / RFC 6691); IPv6 has a 40-byte header. */
const FIXED_HEADERS = { 4: 40, 6: 60 } as const;
/** A route MTU the IPv6 side accepts (RFC 8200 minimum) up to the lab's veth MTU. */
const MIN_ROUTE_MTU = 1280;
const LAB_LINK_MTU = 1500;

const TCP_FLAGS = 13;
const FLAG_SYN = 0x02;
const FLAG_ACK = 0x10;

type Family = 4 | 6;
type Segment = 'SYN' | 'SYN/ACK';

type Mode = { kind: 'set'; mss: number } | { kind: 'clamp'; mtu: number };

class DemoError extends Error {}

function usage(): string {
  return [
    'usage: npm run demo [-- --set-mss N | --clamp MTU]',
    '  --set-mss N   rewrite every MSS above N to N (default 1380)',
    `  --clamp MTU   --clamp-mss-to-pmtu, with the router's routes at mtu MTU (${MIN_ROUTE_MTU}..${LAB_LINK_MTU})`,
  ].join('\n');
}

function parseArgs(args: readonly string[]): Mode {
  let mode: Mode = { kind: 'set', mss: 1380 };
  let chosen = '';
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    }
    if (flag !== '--set-mss' && flag !== '--clamp') throw new DemoError(`unknown argument ${flag}\n${usage()}`);
    if (chosen && chosen !== flag) throw new DemoError(`--set-mss and --clamp are exclusive: pick one\n${usage()}`);
    chosen = flag;
    const text = args[++i];
    const value = Number(text);
    if (text === undefined || !Number.isInteger(value)) throw new DemoError(`${flag} needs a whole number\n${usage()}`);
    if (flag === '--clamp') {
      if (value < MIN_ROUTE_MTU || value > LAB_LINK_MTU) {
        throw new DemoError(
          `--clamp ${value}: use a route MTU from ${MIN_ROUTE_MTU} (the IPv6 minimum) to ${LAB_LINK_MTU} (the lab's links)`,
        );
      }
      mode = { kind: 'clamp', mtu: value };
    } else {
      mode = { kind: 'set', mss: value }; // the daemon's own validation reports an impossible MSS
    }
  }
  return mode;
}

function daemonFlags(mode: Mode): string[] {
  return mode.kind === 'set' ? ['--set-mss', String(mode.mss)] : ['--clamp-mss-to-pmtu'];
}

/** The MSS the daemon rewrites down to: the set value, or the path MTU minus the fixed headers. */
function target(mode: Mode, family: Family): number {
  return mode.kind === 'set' ? mode.mss : mode.mtu - FIXED_HEADERS[family];
}

/**
 * Installs what the lab needs on a fresh machine (iptables, tcpdump, ethtool, ...); apt-get's progress
 * goes to the terminal, since a first run can take a minute.
 */
function installSystemDeps(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(root, 'scripts', 'install-system-deps.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) => reject(new DemoError(`scripts/install-system-deps.sh: ${err.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new DemoError(`scripts/install-system-deps.sh failed (exit ${code}): install iptables, tcpdump, ethtool and iproute2 by hand`),
          ),
    );
  });
}

// A tiny TCP server (IPv4 and IPv6 on one socket) and a client that opens one connection per family
// and reads the greeting: real connections through the router, nothing else on the wire.
const serverScript = `
const net = require('node:net');
const server = net.createServer((socket) => socket.end('hello from the server\\n'));
server.listen({ host: '::', port: ${SERVER_PORT}, ipv6Only: false }, () => console.log('listening'));
`;
const clientScript = `
const net = require('node:net');
function connect(host) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: ${SERVER_PORT} });
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (chunk) => (data += chunk));
    socket.on('end', () => resolve(data));
    socket.on('error', (err) => reject(new Error(host + ': ' + err.message)));
  });
}
(async () => {
  for (const host of process.argv.slice(1)) {
    const data = await connect(host);
    if (!data.startsWith('hello')) throw new Error(host + ': unexpected answer ' + JSON.stringify(data));
  }
})().catch((err) => { console.error(err.message); process.exit(1); });
`;

interface Seen {
  family: Family;
  segment: Segment;
  srcPort: number;
  dstPort: number;
  mss: number;
  checksumOk: boolean;
}

/** SYN and SYN/ACK segments of the demo's connections, in capture order. */
function handshakeSegments(packets: readonly CapturedIpPacket[]): Seen[] {
  const out: Seen[] = [];
  for (const { ip } of packets) {
    const v = viewSegment(ip);
    if (!v) continue;
    const flags = ip[v.l4 + TCP_FLAGS]!;
    if ((flags & FLAG_SYN) === 0) continue;
    const dstPort = (ip[v.l4 + 2]! << 8) | ip[v.l4 + 3]!;
    const mssOptions = kernelWalkMssOffsets(ip, v);
    // A Linux receiver uses the last MSS option when there are several.
    const last = mssOptions[mssOptions.length - 1];
    out.push({
      family: v.family,
      segment: (flags & FLAG_ACK) !== 0 ? 'SYN/ACK' : 'SYN',
      srcPort: v.srcPort,
      dstPort,
      mss: last === undefined ? -1 : mssAt(ip, last),
      checksumOk: tcpChecksumOk(ip, v),
    });
  }
  return out;
}

interface Row {
  family: Family;
  segment: Segment;
  sender: 'client' | 'server';
  receiver: 'client' | 'server';
  sent: number;
  received: number;
  expected: number;
  checksumOk: boolean;
}

function buildRows(mode: Mode, atClient: readonly Seen[], atServer: readonly Seen[]): Row[] {
  const rows: Row[] = [];
  for (const family of [4, 6] as const) {
    for (const segment of ['SYN', 'SYN/ACK'] as const) {
      const fromClient = segment === 'SYN';
      const sentList = fromClient ? atClient : atServer;
      const receivedList = fromClient ? atServer : atClient;
      const sent = sentList.find((s) => s.family === family && s.segment === segment);
      if (!sent) throw new DemoError(`no IPv${family} ${segment} captured at the ${fromClient ? 'client' : 'server'}`);
      const received = receivedList.find(
        (s) => s.family === family && s.segment === segment && s.srcPort === sent.srcPort && s.dstPort === sent.dstPort,
      );
      if (!received) throw new DemoError(`the IPv${family} ${segment} never reached the ${fromClient ? 'server' : 'client'}`);
      const goal = target(mode, family);
      rows.push({
        family,
        segment,
        sender: fromClient ? 'client' : 'server',
        receiver: fromClient ? 'server' : 'client',
        sent: sent.mss,
        received: received.mss,
        // Never raised (xt_TCPMSS, allowIncrease off); a segment without MSS is left alone here.
        expected: sent.mss < 0 ? sent.mss : Math.min(sent.mss, goal),
        checksumOk: received.checksumOk,
      });
    }
  }
  return rows;
}

function formatRow(r: Row): string {
  const mss = (v: number) => (v < 0 ? 'none' : String(v));
  const verdict = r.received !== r.expected ? `WRONG: expected ${mss(r.expected)}` : r.received !== r.sent ? 'rewritten' : 'unchanged';
  const checksum = r.checksumOk ? 'checksum ok' : 'BAD CHECKSUM';
  return [
    `IPv${r.family}`.padEnd(6),
    r.segment.padEnd(9),
    `${r.sender} sent ${mss(r.sent)}`.padEnd(17),
    `-> ${r.receiver} received ${mss(r.received)}`.padEnd(25),
    `${verdict}, ${checksum}`,
  ].join(' ');
}

interface MetricSample {
  line: string;
  name: string;
  labels: string;
  value: number;
}

function parseExposition(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out.push({ line, name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

/** The lines worth a look: non-zero packet outcomes, and the MSS histograms' sums and counts. */
function interestingMetrics(samples: readonly MetricSample[]): MetricSample[] {
  return samples.filter(
    (s) =>
      (s.name === 'mssmangler_packets_total' && s.value !== 0) ||
      /^mssmangler_mss_(before|after)_bytes_(sum|count)$/.test(s.name) ||
      (s.name === 'mssmangler_mss_insertions_total' && s.value !== 0),
  );
}

function sumOf(samples: readonly MetricSample[], name: string, labelPart = ''): number {
  return samples.filter((s) => s.name === name && s.labels.includes(labelPart)).reduce((a, s) => a + s.value, 0);
}

/** Everything the demo started; cleanup() ends it exactly once, whoever calls first. */
class Resources {
  lab: Promise<Lab> | undefined;
  private cleaning: Promise<void> | undefined;

  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      const lab = await this.lab?.catch(() => undefined);
      // Removing the namespaces takes their iptables rules and queues with them.
      await lab?.destroy();
    })();
    return this.cleaning;
  }
}

async function demo(mode: Mode, resources: Resources): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const started = Date.now();

  resources.lab = Lab.create({ tag: 'demo' });
  const lab = await resources.lab;
  say(`lab: namespaces ${lab.client}, ${lab.router}, ${lab.server}`);
  say(
    `  client ${LabAddress.client4} ${LabAddress.client6} <-> router <-> server ${LabAddress.server4} ${LabAddress.server6} (links MTU ${LAB_LINK_MTU})`,
  );

  if (mode.kind === 'clamp') {
    // Route MTUs on both sides: xt_TCPMSS takes the smaller of the route towards the destination
    // and the route back to the source, so SYN and SYN/ACK both get clamped.
    const mtu = String(mode.mtu);
    await runIn(lab, 'router', 'ip route replace', 'ip', [
      'route',
      'replace',
      '198.51.100.0/24',
      'dev',
      LabInterface.routerToClient,
      'src',
      LabAddress.routerClientSide4,
      'mtu',
      mtu,
    ]);
    await runIn(lab, 'router', 'ip route replace', 'ip', [
      'route',
      'replace',
      '203.0.113.0/24',
      'dev',
      LabInterface.routerToServer,
      'src',
      LabAddress.routerServerSide4,
      'mtu',
      mtu,
    ]);
    await runIn(lab, 'router', 'ip -6 route replace', 'ip', [
      '-6',
      'route',
      'replace',
      'fd00:c::/64',
      'dev',
      LabInterface.routerToClient,
      'metric',
      '256',
      'mtu',
      mtu,
    ]);
    await runIn(lab, 'router', 'ip -6 route replace', 'ip', [
      '-6',
      'route',
      'replace',
      'fd00:5::/64',
      'dev',
      LabInterface.routerToServer,
      'metric',
      '256',
      'mtu',
      mtu,
    ]);
    say(`router: routes to client and server at mtu ${mtu} (clamp target: IPv4 MSS ${target(mode, 4)}, IPv6 MSS ${target(mode, 6)})`);
  }

  const flags = ['--queue', String(QUEUE), ...daemonFlags(mode)];
  say(`router: mssmangler rules --apply ${flags.join(' ')}`);
  const applied = await runIn(lab, 'router', 'mssmangler rules --apply', node, [cli, 'rules', '--apply', ...flags]);
  for (const line of applied.stdout.trim().split('\n')) say(`  ${line}`);
  for (const binary of ['iptables', 'ip6tables']) {
    const listed = await runIn(lab, 'router', `${binary} -S`, binary, ['-t', 'mangle', '-S']);
    for (const line of listed.stdout.split('\n').filter((l) => l.startsWith('-A '))) say(`  ${binary} -t mangle ${line}`);
  }

  say(`router: mssmangler run ${flags.join(' ')} --log-level info`);
  const daemon = lab.spawn('router', node, [cli, 'run', ...flags, '--log-level', 'info']);
  say(`  ${await waitForDaemon(daemon)}`);
  say(`  pid ${daemon.pid}, metrics on ${METRICS_URL} inside ${lab.router}`);

  const server = lab.spawn('server', node, ['-e', serverScript]);
  await server.waitFor(/listening/, 5000).catch((err: Error) => {
    throw new DemoError(`the TCP server did not start: ${err.message}`);
  });
  const clientCapture = await startCapture(lab, 'client', LabInterface.client, { filter: `tcp port ${SERVER_PORT}` });
  const serverCapture = await startCapture(lab, 'server', LabInterface.server, { filter: `tcp port ${SERVER_PORT}` });

  say(`client: TCP connections to [${LabAddress.server4}]:${SERVER_PORT} and [${LabAddress.server6}]:${SERVER_PORT}`);
  await runIn(lab, 'client', 'a TCP connection', node, ['-e', clientScript, LabAddress.server4, LabAddress.server6]);
  say('  both connections worked');

  const atClient = handshakeSegments(await clientCapture.stop());
  const atServer = handshakeSegments(await serverCapture.stop());
  const rows = buildRows(mode, atClient, atServer);

  say('');
  say(`MSS option of each handshake segment, as captured on the sender's and the receiver's eth0 (${describe(mode)}):`);
  for (const row of rows) say(`  ${formatRow(row)}`);
  say('');

  const metrics = await runIn(lab, 'router', `reading ${METRICS_URL}`, node, [
    '-e',
    `fetch(${JSON.stringify(METRICS_URL)}).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(e.message); process.exit(1); })`,
  ]);
  const samples = parseExposition(metrics.stdout);
  say(`metrics (${METRICS_URL}, in the router namespace):`);
  for (const s of interestingMetrics(samples)) say(`  ${s.line}`);
  say('');

  say('router: mssmangler rules --remove');
  const removed = await runIn(lab, 'router', 'mssmangler rules --remove', node, [cli, 'rules', '--remove']);
  for (const line of removed.stdout.trim().split('\n')) say(`  ${line}`);
  const stopped = await daemon.stop('SIGTERM', 3000);
  say(`router: daemon stopped (${stopped.signal ? `signal ${stopped.signal}` : `exit ${stopped.code}`})`);

  // Verdict last, so the whole picture is printed first.
  const problems: string[] = [];
  for (const r of rows) {
    if (r.received !== r.expected)
      problems.push(`IPv${r.family} ${r.segment}: ${r.receiver} received MSS ${r.received}, expected ${r.expected}`);
    if (!r.checksumOk) problems.push(`IPv${r.family} ${r.segment}: the TCP checksum the ${r.receiver} received does not verify`);
  }
  const rewritten = rows.filter((r) => r.received !== r.sent).length;
  const modified = sumOf(samples, 'mssmangler_packets_total', 'outcome="modified"');
  // Every rewritten segment the receivers saw was counted once (a retransmitted SYN would be both).
  const rewrittenSeen = countRewritten(atClient, atServer);
  if (modified !== rewrittenSeen) {
    problems.push(`mssmangler_packets_total{outcome="modified"} is ${modified}, but the captures show ${rewrittenSeen} rewritten segments`);
  }
  if (stopped.code !== 0) problems.push(`the daemon exited with ${stopped.signal ?? stopped.code} on SIGTERM: ${daemon.stderr.trim()}`);
  if (problems.length > 0) throw new DemoError(`the MSS values are not what the daemon should produce:\n  ${problems.join('\n  ')}`);

  say(
    `demo OK: ${rewritten} of ${rows.length} handshake segments rewritten as expected, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

function describe(mode: Mode): string {
  return mode.kind === 'set'
    ? `--set-mss ${mode.mss}`
    : `--clamp-mss-to-pmtu, route mtu ${mode.mtu}: IPv4 ${target(mode, 4)}, IPv6 ${target(mode, 6)}`;
}

/** Segments that reached a receiver with a different MSS than the sender put in. */
function countRewritten(atClient: readonly Seen[], atServer: readonly Seen[]): number {
  let n = 0;
  const directions = [
    ['SYN', atClient, atServer],
    ['SYN/ACK', atServer, atClient],
  ] as const;
  for (const [segment, senderSide, receiverSide] of directions) {
    const sentBy = new Map<string, number>();
    for (const s of senderSide) if (s.segment === segment) sentBy.set(`${s.family} ${s.srcPort} ${s.dstPort}`, s.mss);
    for (const r of receiverSide) {
      if (r.segment !== segment) continue;
      const sent = sentBy.get(`${r.family} ${r.srcPort} ${r.dstPort}`);
      if (sent !== undefined && sent !== r.mss) n++;
    }
  }
  return n;
}

/**
 * Runs a command in a namespace to completion, as a process the lab tracks: an interrupted demo ends
 * it with the rest instead of leaving it running (Lab.exec's children are not tracked).
 */
async function runIn(lab: Lab, host: Host, what: string, command: string, args: readonly string[]): Promise<{ stdout: string }> {
  const done = await lab.spawn(host, command, args).exited;
  if (done.code !== 0) {
    const why = done.stderr.trim() || done.stdout.trim() || `${done.signal ?? `exit ${done.code}`}`;
    throw new DemoError(`${what} (in ${lab.ns(host)}) failed: ${why}`);
  }
  return { stdout: done.stdout };
}

/** Waits for the daemon's "started" log line (queue bound, metrics listening) and returns it. */
async function waitForDaemon(daemon: TrackedProcess): Promise<string> {
  try {
    return await daemon.waitFor(/^.*"msg":"started".*$/m, 10_000);
  } catch (err) {
    const detail = (daemon.stderr.trim() || daemon.stdout.trim()).split('\n').slice(-5).join('\n  ');
    throw new DemoError(`the daemon did not start: ${(err as Error).message}${detail ? `\n  ${detail}` : ''}`);
  }
}

async function main(): Promise<number> {
  let mode: Mode;
  try {
    mode = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('demo: run it as root: it builds network namespaces and firewall rules (sudo npm run demo)\n');
    return 2;
  }
  const resources = new Resources();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`demo: ${signal}, cleaning up\n`);
    void resources.cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await installSystemDeps();
  } catch (err) {
    if (interrupted) return 130;
    process.stderr.write(`demo: FAILED: ${(err as Error).message}\n`);
    return 1;
  }
  const watchdog = setTimeout(() => {
    process.stderr.write(`demo: FAILED: still running after ${DEADLINE_MS / 1000} s, cleaning up\n`);
    void resources.cleanup().finally(() => process.exit(1));
  }, DEADLINE_MS);
  try {
    await demo(mode, resources);
    return 0;
  } catch (err) {
    if (interrupted) return 130;
    const message = err instanceof DemoError ? err.message : String((err as Error).stack ?? err);
    process.stderr.write(`demo: FAILED: ${message}\n`);
    return 1;
  } finally {
    await resources.cleanup();
    clearTimeout(watchdog);
  }
}

// An interrupted run exits from the signal handler once cleanup is done.
void main().then((code) => {
  if (code !== 130) process.exit(code);
});
