// RouteMtu and PathMtuCache on the real kernel, inside the lab router (rtnetlink answers for the
// namespace of the asking process, so the probe runs there). Route, rule and link changes made with
// `ip` while the probe runs must be followed without a restart: the probe's cache TTL is a minute, so
// only the change notifications can make it ask again. Lookups are for packets forwarded from the
// client side (input interface toc) unless a test says otherwise.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Lab, LabAddress, LabInterface } from '../lab/lab.js';
import { run } from '../lab/run.js';
import type { TrackedProcess } from '../lab/process-group.js';
import { loadNative } from '../../src/native/load.js';

const probeScript = fileURLToPath(new URL('./fixtures/path-mtu-probe.js', import.meta.url));

interface Answer {
  mtu: number;
  generation: number;
  /** PathMtuCache's counters, as fixtures/path-mtu-probe.ts copies them. */
  counters: Record<
    'lookups' | 'hits' | 'misses' | 'requests' | 'failures' | 'linkFallbacks' | 'unknown' | 'reverseUnknown' | 'budgetFallbacks',
    number
  >;
  stats: Record<string, number>;
  error?: string;
}

// The cache empties at most once per this many ms (PathMtuCache's default coalesceMs), so a lookup
// right after a change waits this long to be sure the change is followed.
const CoalesceMs = 100;

class Probe {
  private answered = 0;
  constructor(private readonly process: TrackedProcess) {}

  static async start(lab: Lab, ttlMs: number): Promise<Probe> {
    const p = lab.spawn('router', process.execPath, [probeScript, String(ttlMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
    await p.waitFor(/"ready":true/);
    return new Probe(p);
  }

  async ask(request: object): Promise<Answer> {
    const index = ++this.answered; // line 0 is the ready line
    this.process.child.stdin!.write(`${JSON.stringify(request)}\n`);
    const deadline = Date.now() + 5000;
    for (;;) {
      const lines = this.process.stdout.split('\n');
      if (lines.length > index + 1) {
        const answer = JSON.parse(lines[index]!) as Answer;
        if (answer.error) throw new Error(`probe: ${answer.error}`);
        if (typeof answer.generation === 'number') this.generation = answer.generation;
        return answer;
      }
      if (!this.process.running) throw new Error(`probe exited: ${this.process.stderr}`);
      if (Date.now() > deadline) throw new Error(`probe did not answer ${JSON.stringify(request)}: ${this.process.stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** The generation in the last answer that carried one. */
  generation = -1;

  /** Ends the probe's input; it should exit by itself. */
  async end(): Promise<{ code: number | null; stderr: string }> {
    this.process.child.stdin!.end();
    const timer = setTimeout(() => this.process.child.kill('SIGKILL'), 3000);
    const done = await this.process.exited;
    clearTimeout(timer);
    return done;
  }

  lookup4(
    dst: string = LabAddress.server4,
    src: string = LabAddress.client4,
    oif: string | number = LabInterface.routerToServer,
    iif: string | number = LabInterface.routerToClient,
    mark = 0,
  ): Promise<Answer> {
    return this.ask({ op: 'lookup', family: 4, src, dst, iif, oif, mark });
  }

  lookup6(
    dst: string = LabAddress.server6,
    src: string = LabAddress.client6,
    oif: string | number = LabInterface.routerToServer,
    iif: string | number = LabInterface.routerToClient,
    mark = 0,
  ): Promise<Answer> {
    return this.ask({ op: 'lookup', family: 6, src, dst, iif, oif, mark });
  }

  /** Makes a change with `ip` and waits for the notification it causes to reach the probe. */
  async change(lab: Lab, args: string[]): Promise<void> {
    const { generation } = await this.ask({ op: 'waitGeneration', after: -1 });
    await run('ip', ['-n', lab.router, ...args]);
    const after = await this.ask({ op: 'waitGeneration', after: generation });
    assert.notEqual(after.generation, generation, `ip ${args.join(' ')} was announced (generation moved)`);
    await new Promise((r) => setTimeout(r, CoalesceMs + 10));
  }
}

async function setUp(t: TestContext, tag: string, ttlMs = 60_000): Promise<{ lab: Lab; probe: Probe }> {
  loadNative();
  const lab = await Lab.create({ tag, checksumOffloadOff: false });
  t.after(() => lab.destroy());
  return { lab, probe: await Probe.start(lab, ttlMs) };
}

/**
 * The MTU `ip route get` shows (the kernel's dst_mtu when it differs from the device's), or the device
 * MTU; `from` (extra args such as ['from', SRC, 'iif', DEV, 'mark', N]) asks the forwarding lookup.
 */
async function kernelView(lab: Lab, family: 4 | 6, dst: string, from: string[] = []): Promise<number> {
  const { stdout } = await run('ip', ['-n', lab.router, `-${family}`, 'route', 'get', dst, ...from]);
  const metric = /\bmtu (\d+)/.exec(stdout);
  if (metric) return Number(metric[1]);
  const dev = /\bdev (\S+)/.exec(stdout)![1]!;
  const { stdout: link } = await run('ip', ['-n', lab.router, '-j', 'link', 'show', 'dev', dev]);
  return (JSON.parse(link) as Array<{ mtu: number }>)[0]!.mtu;
}

test('IPv4: route mtu metric, link MTU and the route back to the client, followed without a restart', async (t) => {
  const { lab, probe } = await setUp(t, 'pmtu4');

  const first = await probe.lookup4();
  assert.equal(first.mtu, 1500, 'default path MTU towards the server');
  assert.equal((await probe.lookup4()).counters.hits, 1, 'the second lookup is a hit');

  await probe.change(lab, ['route', 'replace', '203.0.113.0/24', 'dev', LabInterface.routerToServer, 'mtu', '1400']);
  assert.equal((await probe.lookup4()).mtu, 1400, 'route mtu metric');

  // The kernel keeps an IPv4 route's mtu metric when the link MTU drops below it (only IPv6 lowers
  // it, rt6_mtu_change_route): dst_mtu, and so xt_TCPMSS, still says 1400. So do we.
  await probe.change(lab, ['link', 'set', LabInterface.routerToServer, 'mtu', '1300']);
  assert.equal((await probe.lookup4()).mtu, await kernelView(lab, 4, LabAddress.server4), 'same as the kernel');
  assert.equal((await probe.lookup4()).mtu, 1400);

  await probe.change(lab, ['route', 'replace', '203.0.113.0/24', 'dev', LabInterface.routerToServer]);
  assert.equal((await probe.lookup4()).mtu, 1300, 'no metric: the link MTU');

  await probe.change(lab, ['link', 'set', LabInterface.routerToServer, 'mtu', '1500']);
  assert.equal((await probe.lookup4()).mtu, 1500);

  await probe.change(lab, ['link', 'set', LabInterface.routerToClient, 'mtu', '1350']);
  assert.equal((await probe.lookup4()).mtu, 1350, 'a lower MTU back towards the client lowers the answer');

  const last = await probe.lookup4();
  assert.ok(last.counters.misses >= 6 && last.counters.hits >= 2, JSON.stringify(last.counters));
  assert.equal(last.counters.failures, 0);
});

test('IPv6: link MTU 1280, route mtu metric, and the route back to the client', async (t) => {
  const { lab, probe } = await setUp(t, 'pmtu6');

  assert.equal((await probe.lookup6()).mtu, 1500, 'default path MTU towards the server');

  await probe.change(lab, ['link', 'set', LabInterface.routerToServer, 'mtu', '1280']);
  assert.equal((await probe.lookup6()).mtu, 1280, 'link MTU 1280');

  await probe.change(lab, ['link', 'set', LabInterface.routerToServer, 'mtu', '1500']);
  assert.equal((await probe.lookup6()).mtu, 1500);

  // Metric 256 is the connected route's: the same route, replaced.
  await probe.change(lab, ['-6', 'route', 'replace', 'fd00:5::/64', 'dev', LabInterface.routerToServer, 'metric', '256', 'mtu', '1400']);
  assert.equal((await probe.lookup6()).mtu, 1400, 'route mtu metric');
  assert.equal((await probe.lookup6()).mtu, await kernelView(lab, 6, LabAddress.server6), 'same as the kernel');

  await probe.change(lab, ['link', 'set', LabInterface.routerToClient, 'mtu', '1300']);
  assert.equal((await probe.lookup6()).mtu, 1300, 'a lower MTU back towards the client lowers the answer');
});

// The reviewer's reproduction: policy routing (`ip rule from ... table 100`, `ip rule fwmark ...`)
// sends forwarded packets to another table whose route has its own mtu. xt_TCPMSS uses the packet's
// own route (the input lookup's), so must we: an output lookup by destination alone says 1500.
for (const family of [4, 6] as const) {
  test(`IPv${family}: policy routing by source and by mark picks the table, as the kernel's forwarding lookup does`, async (t) => {
    const { lab, probe } = await setUp(t, `pmtup${family}`);
    const v4 = family === 4;
    const f = `-${family}`;
    const otherNet = v4 ? '192.0.2.0/24' : 'fd00:192::/64';
    const other = v4 ? '192.0.2.7' : 'fd00:192::7';
    const server = v4 ? LabAddress.server4 : LabAddress.server6;
    const client = v4 ? LabAddress.client4 : LabAddress.client6;
    const serverNet = v4 ? '203.0.113.0/24' : 'fd00:5::/64';
    const lookup = (src: string, mark = 0) =>
      v4
        ? probe.lookup4(server, src, LabInterface.routerToServer, LabInterface.routerToClient, mark)
        : probe.lookup6(server, src, LabInterface.routerToServer, LabInterface.routerToClient, mark);
    const kernel = (src: string, mark = 0) =>
      kernelView(lab, family, server, ['from', src, 'iif', LabInterface.routerToClient, ...(mark ? ['mark', String(mark)] : [])]);

    // The other source network lives behind the client side (so reverse-path filtering accepts it).
    await run('ip', ['-n', lab.router, f, 'route', 'add', otherNet, 'dev', LabInterface.routerToClient]);
    await run('ip', ['-n', lab.router, f, 'route', 'add', serverNet, 'dev', LabInterface.routerToServer, 'mtu', '1300', 'table', '100']);
    await run('ip', ['-n', lab.router, f, 'route', 'add', serverNet, 'dev', LabInterface.routerToServer, 'mtu', '1320', 'table', '101']);
    assert.equal((await lookup(other)).mtu, 1500, 'no rule yet');

    // A rule change alone moves packets: it must be announced (RTNLGRP_IPV4_RULE / RTNLGRP_IPV6_RULE).
    await probe.change(lab, [f, 'rule', 'add', 'from', otherNet, 'table', '100']);
    assert.equal(await kernel(other), 1300, 'the kernel routes this source by table 100');
    assert.equal((await lookup(other)).mtu, 1300, 'source routing');
    assert.equal((await lookup(client)).mtu, 1500, 'another source, the main table');

    await probe.change(lab, [f, 'rule', 'add', 'fwmark', '9', 'table', '101']);
    assert.equal(await kernel(client, 9), 1320);
    assert.equal((await lookup(client, 9)).mtu, 1320, 'mark routing');
    const last = await lookup(client, 0);
    assert.equal(last.mtu, 1500);
    assert.equal(last.stats.inputFallbacks, 0, 'every forwarding lookup answered by the kernel');

    await probe.change(lab, [f, 'rule', 'del', 'from', otherNet, 'table', '100']);
    assert.equal((await lookup(other)).mtu, 1500, 'the rule removed: followed');
  });
}

test('an unroutable destination answers 0 without throwing, and is asked once, not per packet', async (t) => {
  const { probe } = await setUp(t, 'pmtu0');

  // The router has no default route: TEST-NET-1 and the IPv6 documentation prefix are unroutable.
  const v4 = await probe.lookup4('192.0.2.99', LabAddress.client4, 0);
  assert.equal(v4.mtu, 0);
  const v6 = await probe.lookup6('2001:db8::99', LabAddress.client6, 0);
  assert.equal(v6.mtu, 0);
  const again = await probe.lookup6('2001:db8::99', LabAddress.client6, 0);
  assert.equal(again.mtu, 0);
  assert.deepEqual(
    { failures: again.counters.failures, unknown: again.counters.unknown, hits: again.counters.hits },
    { failures: 3, unknown: 3, hits: 1 },
  );
  // A source with no route back is ignored, as tcpmss_reverse_mtu does.
  const noReverse = await probe.lookup4(LabAddress.server4, '192.0.2.99', LabInterface.routerToServer);
  assert.equal(noReverse.mtu, 1500);
  assert.equal(noReverse.counters.reverseUnknown, 1);
});

const SEND_BIG_DATAGRAM = `
const [family, dst] = process.argv.slice(1);
const s = require('node:dgram').createSocket(family === '4' ? 'udp4' : 'udp6');
s.send(Buffer.alloc(1400), 9, dst, (err) => { if (err) { console.error(err.message); process.exit(1); } s.close(); });
`;

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// A PMTU exception: the server forwards 192.0.2.0/24 and fd00:99::/64 over a 1300-byte link, so a
// 1428-byte DF packet from the router earns an ICMP Fragmentation Needed / Packet Too Big, and the
// router caches MTU 1300 for that one destination. The kernel announces no route change for it: the
// cache's TTL is what picks it up.
test('a PMTU learned from ICMP (route exception) is reported once the cached answer expires', async (t) => {
  const ttlMs = 300;
  const { lab, probe } = await setUp(t, 'pmtux', ttlMs);
  const s = lab.server;
  await lab.sysctl(s, 'net.ipv4.ip_forward', '1');
  await lab.sysctl(s, 'net.ipv6.conf.all.forwarding', '1');
  await run('ip', ['-n', s, 'link', 'add', 'in0', 'type', 'veth', 'peer', 'name', 'in1']);
  await run('ip', ['-n', s, 'link', 'set', 'in0', 'mtu', '1300', 'up']);
  await run('ip', ['-n', s, 'link', 'set', 'in1', 'up']);
  await run('ip', ['-n', s, 'addr', 'add', '192.0.2.1/24', 'dev', 'in0']);
  await run('ip', ['-n', s, '-6', 'addr', 'add', 'fd00:99::1/64', 'dev', 'in0', 'nodad']);
  await run('ip', ['-n', lab.router, 'route', 'add', '192.0.2.0/24', 'via', LabAddress.server4]);
  await run('ip', ['-n', lab.router, '-6', 'route', 'add', 'fd00:99::/64', 'via', LabAddress.server6]);

  for (const [family, dst, src] of [
    [4, '192.0.2.9', LabAddress.client4],
    [6, 'fd00:99::9', LabAddress.client6],
  ] as const) {
    const lookup = () => (family === 4 ? probe.lookup4(dst, src) : probe.lookup6(dst, src));
    assert.equal((await lookup()).mtu, 1500, `IPv${family}: no exception yet`);
    // A datagram too big for in0 (Linux sends UDP with DF set by default, IP_PMTUDISC_WANT).
    await lab.exec('router', process.execPath, ['-e', SEND_BIG_DATAGRAM, String(family), dst]);
    await waitFor(async () => (await kernelView(lab, family, dst)) === 1300, `IPv${family}: the kernel learned the PMTU`);
    await new Promise((r) => setTimeout(r, ttlMs + 50));
    assert.equal((await lookup()).mtu, 1300, `IPv${family}: the exception's MTU`);
  }
});

test('close() stops answering, and the notification watcher never keeps the process alive', async (t) => {
  const { lab, probe } = await setUp(t, 'pmtuc');
  assert.equal((await probe.lookup4()).mtu, 1500);
  const closed = (await probe.ask({ op: 'close' })) as unknown as { isOpen: boolean; mtu: number; linkMtu: number };
  assert.deepEqual(closed, { isOpen: false, mtu: 0, linkMtu: 0 });
  const before = probe.generation;
  await run('ip', ['-n', lab.router, 'link', 'set', LabInterface.routerToServer, 'mtu', '1400']);
  await new Promise((r) => setTimeout(r, 50)); // time for a notification to arrive, were it still watched
  assert.equal((await probe.ask({ op: 'waitGeneration', after: -1 })).generation, before, 'no notification after close');
  const exit = await probe.end();
  assert.equal(exit.code, 0, exit.stderr);
});

// Context-aware: each worker thread has its own RouteMtu class, sockets and cleanup hook; workers
// that end without close() leave the process healthy.
const WORKERS_SCRIPT = `
const { Worker } = require('node:worker_threads');
const moduleUrl = process.argv[1];
const loadUrl = process.argv[2];
const code = \`
  const { parentPort } = require('node:worker_threads');
  Promise.all([import(\${JSON.stringify(moduleUrl)}), import(\${JSON.stringify(loadUrl)})]).then(([{ RouteMtu }, { loadNative }]) => {
    const r = new RouteMtu({ native: loadNative().RouteMtu });
    parentPort.postMessage(r.route(4, Uint8Array.of(127, 0, 0, 1), 0, -1, 0, 0, 0));
  });\`;
(async () => {
  const { RouteMtu } = await import(moduleUrl);
  const { loadNative } = await import(loadUrl);
  const main = new RouteMtu({ native: loadNative().RouteMtu });
  const answers = [main.route(4, Uint8Array.of(127, 0, 0, 1), 0, -1, 0, 0, 0)];
  await Promise.all([1, 2, 3].map(async () => {
    const w = new Worker(code, { eval: true });
    answers.push(await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
    await w.terminate();
  }));
  answers.push(main.route(4, Uint8Array.of(127, 0, 0, 1), 0, -1, 0, 0, 0));
  console.log(JSON.stringify(answers));
})().catch((e) => { console.error(e); process.exit(1); });
`;

test('RouteMtu works in worker threads side by side, and workers end without close()', async (t) => {
  loadNative();
  const lab = await Lab.create({ tag: 'pmtuw', checksumOffloadOff: false });
  t.after(() => lab.destroy());
  const moduleUrl = new URL('../../src/pmtu/route-mtu.js', import.meta.url).href;
  const loadUrl = new URL('../../src/native/load.js', import.meta.url).href;
  const { stdout } = await lab.exec('router', process.execPath, ['-e', WORKERS_SCRIPT, moduleUrl, loadUrl]);
  assert.deepEqual(JSON.parse(stdout), [65536, 65536, 65536, 65536, 65536], 'loopback MTU from every thread');
});
