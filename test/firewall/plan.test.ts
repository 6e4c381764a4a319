import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig, parseConfig } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/problem.js';
import type { Config } from '../../src/config/config.js';
import { formatCommand, iptablesCommands } from '../../src/firewall/iptables.js';
import { planFirewall } from '../../src/firewall/plan.js';

function config(text: string): Config {
  const result = parseConfig(text, 'fw.yaml');
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  return result.config;
}

function lines(c: Config, family: 4 | 6 | 'both' = 'both', queue?: number): string[] {
  return iptablesCommands(planFirewall(c, { family, queue }), '-A').map(formatCommand);
}

const TAIL = '-m comment --comment mssmangler -j NFQUEUE --queue-num 0 --queue-bypass';

test('plan: one unrestricted rule queues SYN and SYN/ACK in FORWARD and OUTPUT for both families', () => {
  const r = buildConfig(null, { setMss: 1380 });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.deepEqual(lines(r.config), [
    `iptables -t mangle -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST,FIN SYN ${TAIL}`,
    `iptables -t mangle -A OUTPUT -p tcp ! -o lo -m tcp --tcp-flags SYN,RST,FIN SYN ${TAIL}`,
    `ip6tables -t mangle -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST,FIN SYN ${TAIL}`,
    `ip6tables -t mangle -A OUTPUT -p tcp ! -o lo -m tcp --tcp-flags SYN,RST,FIN SYN ${TAIL}`,
  ]);
});

test('plan: direction, family and --queue select what is queued', () => {
  const r = buildConfig(null, { clampMssToPmtu: true, direction: 'syn', queue: 3 });
  assert.ok(r.ok);
  if (!r.ok) return;
  const tail = TAIL.replace('--queue-num 0', '--queue-num 3');
  assert.deepEqual(lines(r.config, 6), [
    `ip6tables -t mangle -A FORWARD -p tcp -m tcp --tcp-flags SYN,ACK,RST,FIN SYN ${tail}`,
    `ip6tables -t mangle -A OUTPUT -p tcp ! -o lo -m tcp --tcp-flags SYN,ACK,RST,FIN SYN ${tail}`,
  ]);
  assert.deepEqual(
    lines(r.config, 4, 9).map((l) => l.split(' ').at(-2)),
    ['9', '9'],
    '--queue overrides the config',
  );
});

test('plan: restrictions every rule shares are carried into the firewall rules', () => {
  const c = config(`
rules:
  - name: a
    match:
      family: 4
      direction: syn
      source: ["198.51.100.0/24", "203.0.113.0/24"]
      destinationPort: [443, "8000-8999"]
      outInterface: wg0
      mark: "0x10/0xff"
    action: set
    mss: 1300
  - name: b
    match: { inInterface: eth1, destination: "fd00::/8", direction: synack, sourcePort: 80 }
    action: clamp-to-pmtu
`);
  const a = `-o wg0 -m tcp --tcp-flags SYN,ACK,RST,FIN SYN -m multiport --dports 443,8000:8999 -m mark --mark 0x10/0xff ${TAIL}`;
  assert.deepEqual(lines(c), [
    `iptables -t mangle -A FORWARD -p tcp -s 198.51.100.0/24 ${a}`,
    `iptables -t mangle -A FORWARD -p tcp -s 203.0.113.0/24 ${a}`,
    `iptables -t mangle -A OUTPUT -p tcp -s 198.51.100.0/24 ${a}`,
    `iptables -t mangle -A OUTPUT -p tcp -s 203.0.113.0/24 ${a}`,
    // No OUTPUT rule for b: locally generated packets have no input interface.
    `ip6tables -t mangle -A FORWARD -p tcp -d fd00::/8 -i eth1 -m tcp --tcp-flags SYN,ACK,RST,FIN SYN,ACK --sport 80 ${TAIL}`,
  ]);
  assert.deepEqual(lines(c, 6).length, 1);
});

test('plan: an unrestricted rule makes narrower ones for the same family redundant', () => {
  const c = config(`
rules:
  - name: narrow
    match: { family: 6, destination: "fd00::/8", direction: syn }
    action: set
    mss: 1300
  - name: all-v6
    match: { family: 6 }
    action: set
    mss: 1400
  - name: again
    match: { family: 6 }
    action: set
    mss: 1200
`);
  assert.deepEqual(lines(c), [
    `ip6tables -t mangle -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST,FIN SYN ${TAIL}`,
    `ip6tables -t mangle -A OUTPUT -p tcp ! -o lo -m tcp --tcp-flags SYN,RST,FIN SYN ${TAIL}`,
  ]);
});

test('plan: too many ports or prefix pairs widen the selection, never narrow it', () => {
  const ports = Array.from({ length: 16 }, (_, i) => 1000 + i);
  const prefixes = Array.from({ length: 6 }, (_, i) => `"198.51.${i}.0/24"`);
  const c = config(`
rules:
  - name: many
    match:
      destinationPort: [${ports.join(', ')}]
      source: [${prefixes.join(', ')}]
      destination: [${prefixes.join(', ')}]
    action: set
    mss: 1300
`);
  assert.deepEqual(lines(c), [
    `iptables -t mangle -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST,FIN SYN ${TAIL}`,
    `iptables -t mangle -A OUTPUT -p tcp ! -o lo -m tcp --tcp-flags SYN,RST,FIN SYN ${TAIL}`,
  ]);
});

test('plan: a family the rules never select yields nothing', () => {
  const c = config('rules:\n  - name: v4\n    match: { source: "198.51.100.0/24" }\n    action: set\n    mss: 1300\n');
  assert.deepEqual(lines(c, 6), []);
  assert.equal(lines(c, 4).length, 2);
});
