// The fault-injection recipe (docs/fault-injection.md, "## Recipe: a SYN/ACK raised over a 1280-byte IPv6
// link") run as written: its YAML and its `host$ command` lines are read from the guide and run in a three-namespace lab, with
// only the program and file names made absolute. Then every claim the guide makes is checked: the
// client sees MSS 1440 in the SYN/ACK, the router sends ICMPv6 Packet Too Big (type 2, MTU 1280) to
// the client, the upload completes, and the daemon's info line names the flow and the rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, type Host } from '../lab/lab.js';
import { readPcap } from '../lab/pcap.js';
import type { TrackedProcess } from '../lab/process-group.js';
import { ACK, SYN, flowAddress, mssOptions, tcpSegment, tempDir } from './fault-lab.js';
import { CLI, jsonLines } from '../lab/daemon.js';

interface Recipe {
  yaml: string;
  commands: Array<{ host: Host; command: string; background: boolean }>;
}

function readRecipe(): Recipe {
  const guide = readFileSync(join(process.cwd(), 'docs', 'fault-injection.md'), 'utf8');
  const start = guide.indexOf('\n## Recipe: a SYN/ACK raised over a 1280-byte IPv6 link');
  assert.ok(start >= 0, 'docs/fault-injection.md has the recipe');
  const section = guide.slice(start);
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const sh = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml !== undefined && sh !== undefined, 'the recipe has a yaml and an sh block');
  const commands = sh
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const m = /^(client|router|server)\$ (.*?)( &)?$/.exec(line);
      assert.ok(m, `recipe line "${line}" names its host`);
      return { host: m[1] as Host, command: m[2]!, background: m[3] !== undefined };
    });
  return { yaml, commands };
}

/** What a line of the recipe needs to run here: absolute names for the program and the files. */
function localise(command: string, dir: string): string {
  return command
    .replace(/^mssmangler /, `${process.execPath} ${CLI} `)
    .replace(/^node /, `${process.execPath} `)
    .replaceAll('oversize-lab.yaml', join(dir, 'oversize-lab.yaml'))
    .replaceAll('oversize-lab.pcap', join(dir, 'oversize-lab.pcap'));
}

/** What a long-running recipe command prints once it is ready. */
function readiness(command: string): RegExp {
  if (command.startsWith('mssmangler run')) return /"msg":"started"/;
  if (command.startsWith('tcpdump')) return /listening on/;
  return /listening/;
}

test('fault-injection recipe (docs/fault-injection.md): SYN/ACK raised to 1440 over an IPv6 link of MTU 1280, Packet Too Big, the upload completes', async (t) => {
  const recipe = readRecipe();
  const lab = await Lab.create({ tag: 'recipe' });
  const tmp = tempDir();
  t.after(async () => {
    await lab.destroy();
    tmp.remove();
  });
  writeFileSync(join(tmp.dir, 'oversize-lab.yaml'), recipe.yaml, { mode: 0o644 });

  const background = new Map<string, TrackedProcess>();
  let clientOutput = '';
  for (const { host, command, background: bg } of recipe.commands) {
    const local = localise(command, tmp.dir);
    if (bg) {
      const p = lab.spawn(host, 'sh', ['-c', `exec ${local}`]);
      await p.waitFor(readiness(command), 10_000);
      background.set(command.split(' ')[0]! + (command.includes(' run ') ? ' run' : ''), p);
    } else {
      const { stdout } = await lab.exec(host, 'sh', ['-c', local]);
      if (host === 'client') clientOutput += stdout;
    }
  }
  assert.equal(clientOutput.trim(), '200000', 'the upload completed: the server counted every byte');

  const tcpdump = background.get('tcpdump')!;
  await new Promise((r) => setTimeout(r, 100));
  await tcpdump.stop('SIGINT');
  const packets = readPcap(readFileSync(join(tmp.dir, 'oversize-lab.pcap')));

  const synAcks = packets
    .map((p) => ({ p, s: tcpSegment(p.ip) }))
    .filter(({ s }) => s !== null && s.family === 6 && s.srcPort === 8080 && (s.flags & (SYN | ACK)) === (SYN | ACK));
  assert.equal(synAcks.length, 1, 'one SYN/ACK');
  const synAck = synAcks[0]!;
  assert.deepEqual(mssOptions(synAck.s!.options), [1440], 'the client sees MSS 1440 (the server offered 1220)');
  const clientPort = synAck.s!.dstPort;

  const tooBig = packets.filter((p) => p.ip[0]! >> 4 === 6 && p.ip[6] === 58 && p.ip[40] === 2);
  assert.ok(tooBig.length >= 1, 'the router sent ICMPv6 Packet Too Big');
  const ptb = tooBig[0]!.ip;
  assert.equal(flowAddress(ptb, 24), flowAddress(synAck.p.ip, 24), 'to the client');
  assert.equal(flowAddress(ptb, 8), 'fd00:c:0:0:0:0:0:1', 'from the router');
  assert.equal(ptb.readUInt32BE(44), 1280, 'MTU 1280');

  const sent = packets.map((p) => ({ p, s: tcpSegment(p.ip) })).filter(({ s }) => s !== null && s.dstPort === 8080 && s.payloadLength > 0);
  assert.ok(
    sent.some(({ p }) => p.ip.length > 1280),
    'the client first sent packets larger than the link',
  );
  assert.ok(
    sent.some(({ s }) => s!.payloadLength === 1208),
    'then 1208-byte segments (1280 - 40 - 20 - 12 of timestamps)',
  );

  const daemon = background.get('mssmangler run')!;
  const faults = jsonLines(daemon.stdout).filter((l) => l.msg === 'fault injected');
  assert.equal(faults.length, 1, 'one fault, one info line');
  const line = faults[0]!;
  assert.equal(line.level, 'info');
  assert.equal(line.rule, 'oversize-lab');
  assert.equal(line.mode, 'oversize');
  assert.equal(line.flow, `fd00:5::2.8080 > fd00:c::2.${clientPort}`);
  assert.equal(line.oldMss, 1220);
  assert.equal(line.newMss, 1440);
  assert.equal(line.optionsAfter, synAck.s!.options.toString('hex'), 'the logged option bytes are the captured ones');
});
