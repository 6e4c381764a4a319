// Accept, drop and modify through a real NFQUEUE, IPv4 and IPv6: what reaches the server (captured
// on its interface) is what the handler decided, and modified packets carry exactly the new bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabInterface } from '../lab/lab.js';
import { startCapture } from '../lab/capture.js';
import { queueSyns, sleep, startConsumer, stopConsumer, syngen } from './queue-lab.js';
import { readSyn } from './syn.js';
import { PacketFlag } from '../../src/native/contract.js';

async function ifindex(lab: Lab, dev: string): Promise<number> {
  const { stdout } = await lab.exec('router', 'ip', ['-j', 'link', 'show', 'dev', dev]);
  return (JSON.parse(stdout) as Array<{ ifindex: number }>)[0]!.ifindex;
}

for (const batchVerdicts of [true, false]) {
  test(`${batchVerdicts ? 'batched' : 'one-by-one'} accept verdicts: accept passes SYNs unchanged, drop stops them, modify delivers the rewritten bytes (IPv4 and IPv6); growing into the tailroom works; bad verdicts and a throwing handler accept unchanged`, async (t) => {
    const lab = await Lab.create({ tag: batchVerdicts ? 'qverdb' : 'qverd1' });
    t.after(() => lab.destroy());
    await queueSyns(lab, '81:86', 3);
    // A mark on the IPv4 accept port, to see it in the descriptor table.
    await lab.exec('router', 'iptables', [
      '-t',
      'mangle',
      '-A',
      'PREROUTING',
      '-p',
      'tcp',
      '--dport',
      '81',
      '-j',
      'MARK',
      '--set-mark',
      '42',
    ]);
    const consumer = await startConsumer(lab, [
      '--queue',
      '3',
      '--policy',
      '81=accept,82=drop,83=mss:1200,84=throw,85=insert:1300,86=bad',
      '--record-rows',
      '31',
      '--pause-first',
      '300',
      ...(batchVerdicts ? [] : ['--no-batch-verdicts']),
    ]);
    assert.equal(consumer.first['event'], 'ready', JSON.stringify(consumer.first));

    const capture = await startCapture(lab, 'server', LabInterface.server, { filter: 'tcp', direction: 'in' });
    for (const family of [4, 6] as const) {
      for (const dport of [81, 82, 83]) await syngen(lab, { family, count: 5, dport, mss: 1460 });
    }
    // Alone in their batch: a throwing handler gets its whole batch accepted unchanged. (The first batch
    // stalls 300 ms, so the packets above queue up and reach the handler together: runs of accepts.)
    await sleep(500);
    await syngen(lab, { family: 4, count: 1, dport: 84, mss: 1460 });
    await sleep(200);
    // Growing packets into the tailroom, and impossible verdicts / lengths.
    for (const family of [4, 6] as const) {
      await syngen(lab, { family, count: 3, dport: 85, options: 'none' });
      await syngen(lab, { family, count: 4, dport: 86, mss: 1460 });
    }
    await sleep(200);
    const captured = await capture.stop();
    const syns = captured.map((p) => readSyn(p.ip)).filter((s) => s !== undefined && (s.flags & 0x12) === 0x02);
    const stats = await stopConsumer(consumer);

    for (const family of [4, 6]) {
      const of = (dport: number) => syns.filter((s) => s!.family === family && s!.dport === dport);
      assert.equal(of(81).length, 5, `IPv${family} accepted SYNs arrive`);
      assert.ok(
        of(81).every((s) => s!.mss === 1460 && s!.checksumOk),
        `IPv${family} accepted SYNs are unchanged`,
      );
      assert.equal(of(82).length, 0, `IPv${family} dropped SYNs never arrive`);
      assert.equal(of(83).length, 5, `IPv${family} modified SYNs arrive`);
      assert.ok(
        of(83).every((s) => s!.mss === 1200 && s!.checksumOk),
        `IPv${family} modified SYNs carry MSS 1200 and a valid checksum`,
      );
    }
    const thrown = syns.filter((s) => s!.dport === 84);
    assert.equal(thrown.length, 1, 'the SYN whose handler threw arrives');
    assert.ok(thrown[0]!.mss === 1460 && thrown[0]!.checksumOk, 'unchanged');
    assert.equal(stats['stats'].callbackErrors, 1);
    assert.ok(consumer.process.stdout.includes('"event":"handler-error","message":"test handler failure"'), 'onError got the error');
    for (const family of [4, 6]) {
      const grown = syns.filter((s) => s!.family === family && s!.dport === 85);
      assert.equal(grown.length, 3, `IPv${family} grown SYNs arrive`);
      assert.ok(
        grown.every((s) => s!.mss === 1300 && s!.checksumOk),
        `IPv${family} grown SYNs carry the inserted MSS option`,
      );
      const bad = syns.filter((s) => s!.family === family && s!.dport === 86);
      assert.equal(bad.length, 4, `IPv${family} SYNs with an impossible verdict or length arrive`);
      assert.ok(
        bad.every((s) => s!.mss === 1460 && s!.checksumOk),
        'unchanged',
      );
    }
    const grownLengths = captured
      .filter((p) => readSyn(p.ip)?.dport === 85)
      .map((p) => p.ip.length)
      .sort();
    assert.deepEqual(grownLengths, [44, 44, 44, 64, 64, 64], 'exactly 4 bytes longer than the 40 and 60 bytes sent');
    assert.equal(stats['stats'].badVerdicts, 8);
    assert.equal(stats['stats'].modified, 16);
    assert.equal(stats['stats'].packets, 45);

    // The descriptor of each packet: hook, family, interfaces, mark, lengths, pre-filled verdict. The lab
    // turns receive offload off, so the kernel reports the checksum as not verified (nfqnl_put_packet_info).
    const toc = await ifindex(lab, LabInterface.routerToClient);
    const tos = await ifindex(lab, LabInterface.routerToServer);
    const rows = stats['rows'] as Array<Record<string, number>>;
    assert.equal(rows.length, 31);
    const v4 = rows[0]!;
    const v6 = rows[15]!;
    assert.deepEqual(
      { ...v4, id: 0, offset: 0 },
      {
        id: 0,
        offset: 0,
        length: 44,
        origLength: 44,
        hook: 2,
        family: 4,
        indev: toc,
        outdev: tos,
        mark: 42,
        flags: PacketFlag.csumNotVerified,
        verdict: 1,
        newLength: 0,
      },
    );
    assert.deepEqual(
      { ...v6, id: 0, offset: 0 },
      {
        id: 0,
        offset: 0,
        length: 64,
        origLength: 64,
        hook: 2,
        family: 6,
        indev: toc,
        outdev: tos,
        mark: 0,
        flags: PacketFlag.csumNotVerified,
        verdict: 1,
        newLength: 0,
      },
    );
    for (const r of rows) assert.equal(r['offset']! % 8, 0, 'packets start 8-byte aligned');
    const ids = rows.map((r) => r['id']!);
    assert.deepEqual(
      ids,
      ids.map((_, i) => ids[0]! + i),
      'ids in arrival order',
    );
    assert.equal(stats['stats'].dropped, 10);
    const messages = stats['stats'].verdictMessages as number;
    if (batchVerdicts) assert.ok(messages < 45, `runs of plain accepts share a VERDICT_BATCH message (${messages} messages)`);
    else assert.equal(messages, 45, 'one verdict message per packet');
    assert.equal(stats['stats'].verdictErrors, 0);
    assert.equal(stats['kernel'].waiting, 0, 'nothing left waiting in the kernel queue');
    assert.equal(stats['after'], null, 'the queue is unbound after close');
  });
}
