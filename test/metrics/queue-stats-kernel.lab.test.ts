// The /proc parser against the kernel itself: a python3 process binds an NFQUEUE over raw nfnetlink
// (NFQNL_MSG_CONFIG: bind, copy packet, queue maxlen) inside a test network namespace and never
// answers; UDP datagrams sent to an NFQUEUE rule there wait in the queue, overflow it, or overflow the
// socket. The counters must then read as the kernel's seq_show printed them, in the parser and in the
// exposition (read through /proc/PID/net, i.e. the namespace of the bound process).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DaemonMetrics } from '../../src/metrics/daemon-metrics.js';
import { PacketCounters } from '../../src/metrics/packet-counters.js';
import { readQueueStats, type QueueStats } from '../../src/queue/queue-stats.js';

// Message layout from include/uapi/linux/netfilter/nfnetlink_queue.h and nfnetlink.h.
const BINDER = `
import socket, struct, sys, time
queue, maxlen, rcvbuf = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
NETLINK_NETFILTER, NFNL_SUBSYS_QUEUE, NFQNL_MSG_CONFIG = 12, 3, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND, NFQNL_COPY_PACKET = 1, 2
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
s.bind((0, 0))
def attr(t, payload):
    n = 4 + len(payload)
    return struct.pack('=HH', n, t) + payload + b'\\0' * ((4 - n % 4) % 4)
def config(seq, attrs):
    body = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    s.send(struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG, 1 | 4, seq, 0) + body)
    err = struct.unpack_from('=i', s.recv(65536), 16)[0]
    if err != 0:
        raise SystemExit('NFQNL_MSG_CONFIG failed: %d' % err)
config(1, attr(NFQA_CFG_CMD, struct.pack('=BBH', NFQNL_CFG_CMD_BIND, 0, 0)))
config(2, attr(NFQA_CFG_PARAMS, struct.pack('>IB', 0xffff, NFQNL_COPY_PACKET)) + attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('>I', maxlen)))
print('bound', flush=True)
time.sleep(30)
`;

let seq = 0;

function sh(args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: 'pipe' });
}

/** A namespace with lo up and UDP port 9 queued to `queue`; a binder process on it. Returns its pid. */
async function boundQueue(
  t: { after: (fn: () => void | Promise<void>) => void },
  queue: number,
  maxlen: number,
  rcvbuf: number,
): Promise<{ ns: string; pid: number }> {
  const ns = `mssm-obs-${process.pid}-${seq++}`;
  sh(['ip', 'netns', 'add', ns]);
  t.after(() => sh(['ip', 'netns', 'del', ns]));
  sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  sh(['ip', 'netns', 'exec', ns, 'iptables', '-A', 'OUTPUT', '-p', 'udp', '--dport', '9', '-j', 'NFQUEUE', '--queue-num', String(queue)]);
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', BINDER, String(queue), String(maxlen), String(rcvbuf)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await exited;
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => (l === 'bound' ? resolve() : reject(new Error(l))));
    child.once('exit', (code) => reject(new Error(`binder exited ${code}: ${stderr}`)));
  });
  return { ns, pid: child.pid! };
}

function sendUdp(ns: string, count: number, bytes: number): void {
  sh([
    'ip',
    'netns',
    'exec',
    ns,
    'python3',
    '-c',
    `import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor _ in range(${count}): s.sendto(b'x' * ${bytes}, ('127.0.0.1', 9))`,
  ]);
}

async function statsWhen(path: string, queue: number, done: (s: QueueStats) => boolean) {
  const deadline = Date.now() + 3000;
  for (;;) {
    const s = await readQueueStats(queue, path);
    if ((s !== undefined && done(s)) || Date.now() > deadline) return s;
    await sleep(50);
  }
}

test('a full queue: waiting packets, queue_dropped and the id sequence as the kernel counts them', async (t) => {
  const { ns, pid } = await boundQueue(t, 7, 2, 212992);
  const path = `/proc/${pid}/net/netfilter/nfnetlink_queue`;
  const before = await readQueueStats(7, path);
  assert.ok(before !== undefined, 'the bound queue is listed');
  assert.equal(before.waiting, 0);
  assert.equal(before.copyMode, 2);
  assert.ok(before.peerPortId > 0);
  sendUdp(ns, 3, 10);
  const s = await statsWhen(path, 7, (x) => x.waiting === 2);
  assert.ok(s !== undefined);
  assert.equal(s.waiting, 2, 'maxlen 2: two packets wait for a verdict');
  assert.equal(s.droppedQueueFull, 1, 'the third found the queue full');
  assert.equal(s.droppedByUser, 0);
  assert.equal(s.idSequence, 2, 'ids go to queued packets only');
  assert.equal(await readQueueStats(8, path), undefined, 'another queue number is not listed');

  const metrics = new DaemonMetrics(new PacketCounters(), { queue: 7, queueProcPath: path, defaultMetrics: false });
  const text = await metrics.exposition();
  for (const line of [
    'mssmangler_queue_bound{queue="7"} 1',
    'mssmangler_queue_waiting_packets{queue="7"} 2',
    'mssmangler_queue_full_dropped_packets_total{queue="7"} 1',
    'mssmangler_queue_user_dropped_packets_total{queue="7"} 0',
    'mssmangler_queue_id_sequence{queue="7"} 2',
  ]) {
    assert.ok(text.includes(line), `missing ${line}`);
  }
});

test('a full socket buffer: queue_user_dropped', async (t) => {
  // SO_RCVBUF 1 gives the kernel minimum: one 3000-byte packet message fits, later ones do not.
  const { ns, pid } = await boundQueue(t, 9, 100, 1);
  const path = `/proc/${pid}/net/netfilter/nfnetlink_queue`;
  sendUdp(ns, 5, 3000);
  const s = await statsWhen(path, 9, (x) => x.droppedByUser > 0);
  assert.ok(s !== undefined);
  assert.ok(s.droppedByUser >= 1, `user drops ${s.droppedByUser}`);
  assert.equal(s.waiting + s.droppedByUser, 5, 'every packet either waits or was dropped for the socket');
  assert.equal(s.droppedQueueFull, 0);
  assert.equal(s.idSequence, 5);
});
