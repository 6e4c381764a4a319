// The counters of our NFQUEUE rules, parsed from `iptables -t mangle -S -v` as iptables-nft 1.8.9
// prints it: only rules with our comment, queueing to the daemon's queue, are summed, per family.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleCounters, readRuleCounters } from '../../src/firewall/counters.js';
import type { CommandRunner } from '../../src/firewall/runner.js';

const IPV4 = `-P PREROUTING ACCEPT -c 5000 300000
-P INPUT ACCEPT -c 0 0
-P FORWARD ACCEPT -c 20010 1200600
-P OUTPUT ACCEPT -c 7 420
-P POSTROUTING ACCEPT -c 0 0
-N operator-chain
-A PREROUTING -i eth0 -c 4000 240000 -j MARK --set-xmark 0x10/0xff
-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "queue for the IDS" -c 900 54000 -j NFQUEUE --queue-num 31
-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment "mssmangler legacy" -c 800 48000 -j NFQUEUE --queue-num 31 --queue-bypass
-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment mssmangler -c 20000 1200000 -j NFQUEUE --queue-num 31 --queue-bypass
-A FORWARD -s 198.51.100.0/24 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment mssmangler -c 12 720 -j NFQUEUE --queue-num 32 --queue-bypass
-A OUTPUT ! -o lo -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment mssmangler -c 3 180 -j NFQUEUE --queue-num 31 --queue-bypass
-A OUTPUT -p tcp -m comment --comment mssmangler -c 99 5940 -j ACCEPT
-A operator-chain -c 1 60 -j RETURN
`;

const IPV6 = `-P PREROUTING ACCEPT -c 0 0
-P INPUT ACCEPT -c 0 0
-P FORWARD ACCEPT -c 0 0
-P OUTPUT ACCEPT -c 0 0
-P POSTROUTING ACCEPT -c 0 0
-A FORWARD -s fd00:c::/64 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment mssmangler -c 4294967301 257698038060 -j NFQUEUE --queue-num 31 --queue-bypass
-A OUTPUT ! -o lo -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment mssmangler -c 0 0 -j NFQUEUE --queue-num 0 --queue-bypass
`;

test('counters: only our NFQUEUE rules for the queue count, in every chain; foreign rules and other queues do not', () => {
  assert.deepEqual(parseRuleCounters(IPV4, 31), { packets: 20003, rules: 2 });
  assert.deepEqual(parseRuleCounters(IPV4, 32), { packets: 12, rules: 1 });
  assert.deepEqual(parseRuleCounters(IPV4, 0), { packets: 0, rules: 0 });
  assert.deepEqual(parseRuleCounters(IPV6, 31), { packets: 4294967301, rules: 1 }, 'past 2^32: rule counters are 64-bit');
  assert.deepEqual(parseRuleCounters(IPV6, 0), { packets: 0, rules: 1 }, 'an installed rule with no traffic yet counts 0');
  assert.deepEqual(parseRuleCounters('', 31), { packets: 0, rules: 0 });
  // A listing without counters (plain -S) counts nothing rather than guessing.
  assert.deepEqual(parseRuleCounters(IPV4.replace(/ -c \d+ \d+/g, ''), 31), { packets: 0, rules: 0 });
});

test('counters: both families through the runner, -t mangle -S -v; a family without rules or that fails is left out', async () => {
  const calls: string[] = [];
  const runner =
    (answers: Record<string, () => { code: number; stdout: string }>): CommandRunner =>
    async (binary, args) => {
      calls.push([binary, ...args].join(' '));
      const a = answers[binary]!();
      return { ...a, stderr: '' };
    };
  const ok = runner({ iptables: () => ({ code: 0, stdout: IPV4 }), ip6tables: () => ({ code: 0, stdout: IPV6 }) });
  assert.deepEqual(await readRuleCounters(31, ok), [
    { family: 4, packets: 20003, rules: 2 },
    { family: 6, packets: 4294967301, rules: 1 },
  ]);
  assert.deepEqual(calls, ['iptables -t mangle -S -v', 'ip6tables -t mangle -S -v']);
  assert.deepEqual(await readRuleCounters(32, ok), [{ family: 4, packets: 12, rules: 1 }]);

  const denied = runner({ iptables: () => ({ code: 4, stdout: '' }), ip6tables: () => ({ code: 0, stdout: IPV6 }) });
  assert.deepEqual(await readRuleCounters(31, denied), [{ family: 6, packets: 4294967301, rules: 1 }]);
  const missing = runner({
    iptables: () => {
      throw new Error('iptables is not installed');
    },
    ip6tables: () => {
      throw new Error('ip6tables is not installed');
    },
  });
  assert.deepEqual(await readRuleCounters(31, missing), [], 'never rejects');
});

test('counters: a --queue-balance rule counts for the first queue of its range', () => {
  const text = [
    '-A FORWARD -p tcp -m tcp --tcp-flags SYN,RST,FIN SYN -m comment --comment mssmangler -c 70 4200 -j NFQUEUE --queue-balance 0:1 --queue-bypass',
    '-A OUTPUT -p tcp ! -o lo -m tcp --tcp-flags SYN,RST,FIN SYN -m comment --comment mssmangler -c 5 300 -j NFQUEUE --queue-balance 0:1 --queue-cpu-fanout --queue-bypass',
  ].join('\n');
  assert.deepEqual(parseRuleCounters(text, 0), { packets: 75, rules: 2 });
  assert.deepEqual(parseRuleCounters(text, 1), { packets: 0, rules: 0 });
});
