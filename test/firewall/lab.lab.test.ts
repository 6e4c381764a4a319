// Real iptables/ip6tables in a namespace of our own: what `rules --apply` installs is exactly what
// `iptables -S` shows, twice is once, and `--remove` takes ours and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inNamespace, namespace } from './netns.js';

const cli = join(process.cwd(), 'dist/src/cli/main.js');

const configText = `queue: 4
rules:
  - name: vpn
    match:
      family: 4
      direction: syn
      source: ["198.51.100.0/24", "203.0.113.0/24"]
      destinationPort: [443, "8000-8999"]
      outInterface: wg0
      mark: "0x10/0xff"
    action: set
    mss: 1300
  - name: lab
    match: { family: 6, inInterface: veth1, direction: synack, sourcePort: 80 }
    action: set
    mss: 1440
    allowIncrease: true
`;

const expected4 = [
  '-A FORWARD -s 198.51.100.0/24 -o wg0 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m multiport --dports 443,8000:8999 -m mark --mark 0x10/0xff -m comment --comment mssmangler -j NFQUEUE --queue-num 4 --queue-bypass',
  '-A FORWARD -s 203.0.113.0/24 -o wg0 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m multiport --dports 443,8000:8999 -m mark --mark 0x10/0xff -m comment --comment mssmangler -j NFQUEUE --queue-num 4 --queue-bypass',
  '-A OUTPUT -s 198.51.100.0/24 -o wg0 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m multiport --dports 443,8000:8999 -m mark --mark 0x10/0xff -m comment --comment mssmangler -j NFQUEUE --queue-num 4 --queue-bypass',
  '-A OUTPUT -s 203.0.113.0/24 -o wg0 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m multiport --dports 443,8000:8999 -m mark --mark 0x10/0xff -m comment --comment mssmangler -j NFQUEUE --queue-num 4 --queue-bypass',
];
const expected6 = [
  '-A FORWARD -i veth1 -p tcp -m tcp --sport 80 --tcp-flags FIN,SYN,RST,ACK SYN,ACK -m comment --comment mssmangler -j NFQUEUE --queue-num 4 --queue-bypass',
];
const foreign4 = '-A FORWARD -p udp -m comment --comment foreign -j ACCEPT';
const foreign6 = '-A OUTPUT -p tcp -m comment --comment "not ours" -j ACCEPT';

function ruleLines(ns: string, binary: string): string[] {
  return inNamespace(ns, binary, ['-t', 'mangle', '-S'])
    .split('\n')
    .filter((l) => l.startsWith('-A '));
}

test('lab: rules --apply installs exactly our rules, twice is once, --remove leaves foreign rules', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mssmangler-lab-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  await writeFile(file, configText, { mode: 0o644 });
  const ns = namespace(t, 'fw');
  inNamespace(ns, 'iptables', ['-t', 'mangle', '-A', 'FORWARD', '-p', 'udp', '-m', 'comment', '--comment', 'foreign', '-j', 'ACCEPT']);
  inNamespace(ns, 'ip6tables', ['-t', 'mangle', '-A', 'OUTPUT', '-p', 'tcp', '-m', 'comment', '--comment', 'not ours', '-j', 'ACCEPT']);

  const first = inNamespace(ns, 'node', [cli, 'rules', '--config', file, '--apply']);
  assert.equal(first, 'iptables: 4 rule(s) added, 0 old rule(s) removed\nip6tables: 1 rule(s) added, 0 old rule(s) removed\n');
  assert.deepEqual(ruleLines(ns, 'iptables'), [foreign4, ...expected4]);
  assert.deepEqual(ruleLines(ns, 'ip6tables'), [...expected6, foreign6], '-S lists FORWARD before OUTPUT');

  const second = inNamespace(ns, 'node', [cli, 'rules', '--config', file, '--apply']);
  assert.equal(second, 'iptables: already up to date\nip6tables: already up to date\n');
  assert.deepEqual(ruleLines(ns, 'iptables'), [foreign4, ...expected4], 'no duplicates');
  assert.deepEqual(ruleLines(ns, 'ip6tables'), [...expected6, foreign6], '-S lists FORWARD before OUTPUT');

  // A changed rule set replaces ours.
  inNamespace(ns, 'node', [cli, 'rules', '--set-mss', '1380', '--family', '6', '--apply']);
  assert.deepEqual(ruleLines(ns, 'ip6tables'), [
    '-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST SYN -m comment --comment mssmangler -j NFQUEUE --queue-num 0 --queue-bypass',
    foreign6,
    '-A OUTPUT ! -o lo -p tcp -m tcp --tcp-flags FIN,SYN,RST SYN -m comment --comment mssmangler -j NFQUEUE --queue-num 0 --queue-bypass',
  ]);
  assert.deepEqual(ruleLines(ns, 'iptables'), [foreign4, ...expected4], '--family 6 leaves IPv4 alone');

  const removed = inNamespace(ns, 'node', [cli, 'rules', '--remove']);
  assert.equal(removed, 'iptables: 4 rule(s) removed\nip6tables: 2 rule(s) removed\n');
  assert.deepEqual(ruleLines(ns, 'iptables'), [foreign4]);
  assert.deepEqual(ruleLines(ns, 'ip6tables'), [foreign6]);
  const again = inNamespace(ns, 'node', [cli, 'rules', '--remove']);
  assert.equal(again, 'iptables: no mssmangler rules installed\nip6tables: no mssmangler rules installed\n');
});
