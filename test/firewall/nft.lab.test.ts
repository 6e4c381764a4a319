import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildConfig, parseConfig } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/problem.js';
import type { Config } from '../../src/config/config.js';
import { nftRemoveScript, nftScript } from '../../src/firewall/nft.js';
import { planFirewall } from '../../src/firewall/plan.js';
import { namespace } from './netns.js';

function config(text: string): Config {
  const result = parseConfig(text, 'fw.yaml');
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  return result.config;
}

const restricted = config(`
queue: 5
rules:
  - name: a
    match:
      family: 4
      direction: syn
      source: "198.51.100.0/24"
      destinationPort: [443, "8000-8999"]
      outInterface: wg0
      mark: "0x10/0xff"
    action: set
    mss: 1300
  - name: b
    match: { inInterface: eth1, destination: "fd00::/8", direction: synack, sourcePort: 80 }
    action: clamp-to-pmtu
`);

const golden = `#!/usr/sbin/nft -f
# mssmangler: queue the TCP SYN and SYN/ACK segments the rules need
table inet mssmangler
delete table inet mssmangler
table inet mssmangler {
\tchain forward {
\t\ttype filter hook forward priority mangle; policy accept;
\t\tmeta nfproto ipv4 ip saddr 198.51.100.0/24 oifname "wg0" tcp flags & (fin | syn | rst | ack) == syn tcp dport { 443, 8000-8999 } meta mark & 0xff == 0x10 queue num 5 bypass comment "mssmangler"
\t\tmeta nfproto ipv6 ip6 daddr fd00::/8 iifname "eth1" tcp flags & (fin | syn | rst | ack) == syn | ack tcp sport 80 queue num 5 bypass comment "mssmangler"
\t}
\tchain output {
\t\ttype filter hook output priority mangle; policy accept;
\t\tmeta nfproto ipv4 ip saddr 198.51.100.0/24 oifname "wg0" tcp flags & (fin | syn | rst | ack) == syn tcp dport { 443, 8000-8999 } meta mark & 0xff == 0x10 queue num 5 bypass comment "mssmangler"
\t}
}
`;

test('nft: the script is golden', () => {
  assert.equal(nftScript(planFirewall(restricted, { family: 'both' })), golden);
});

/**
 * This kernel has no nft queue expression, so `nft -c` (which asks the kernel) cannot accept a queue
 * rule. Two checks instead: with the queue statement swapped for `counter`, the whole script passes
 * `nft -c`; with it, nft parses the script (no syntax error) and only the kernel refuses the rule.
 */
function check(ns: string, script: string): { status: number | null; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', '-'], { input: script, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

test('nft: nft -c accepts the script (queue statement checked by the parser only)', (t) => {
  const ns = namespace(t, 'nftc');
  const flags = buildConfig(null, { setMss: 1380 });
  assert.ok(flags.ok);
  if (!flags.ok) return;
  for (const script of [golden, nftScript(planFirewall(flags.config, { family: 'both' }))]) {
    const withoutQueue = script.replace(/queue num \d+ bypass/g, 'counter');
    assert.deepEqual(check(ns, withoutQueue), { status: 0, stderr: '' });
    const withQueue = check(ns, script);
    assert.doesNotMatch(withQueue.stderr, /syntax error|unexpected/i);
    if (withQueue.status !== 0) assert.match(withQueue.stderr, /Could not process rule/);
  }
  assert.deepEqual(check(ns, nftRemoveScript()), { status: 0, stderr: '' });
});

test('nft: rules --apply/--remove with the nft backend in a namespace', (t) => {
  const ns = namespace(t, 'nfta');
  const cli = `${process.cwd()}/dist/src/cli/main.js`;
  const exec = (...args: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' });
  const apply = exec(process.execPath, cli, 'rules', '--set-mss', '1380', '--backend', 'nft', '--apply');
  const kernelHasQueue = exec('modinfo', 'nft_queue').status === 0 || exec('grep', '-qw', 'nft_queue', '/proc/modules').status === 0;
  if (apply.status === 0) {
    // A kernel with nft_queue: the table is there with both chains.
    assert.equal(apply.stdout, 'nft: table inet mssmangler loaded (4 rule(s))\n');
    const listed = exec('nft', 'list', 'table', 'inet', 'mssmangler');
    assert.equal(listed.status, 0);
    assert.match(listed.stdout, /queue .*num 0 bypass/);
  } else {
    assert.equal(kernelHasQueue, false, `apply failed although nft_queue exists: ${apply.stderr}`);
    assert.equal(apply.status, 5);
    assert.equal(
      apply.stderr,
      'mssmangler: nft: this kernel has no nft queue expression (module nft_queue); use --backend iptables (xt NFQUEUE)\n',
    );
    assert.notEqual(exec('nft', 'list', 'table', 'inet', 'mssmangler').status, 0, 'a failed apply leaves no table (nft -f is atomic)');
  }
  const remove = exec(process.execPath, cli, 'rules', '--backend', 'nft', '--remove');
  assert.equal(remove.status, 0, remove.stderr);
  assert.notEqual(exec('nft', 'list', 'table', 'inet', 'mssmangler').status, 0);
  assert.equal(exec(process.execPath, cli, 'rules', '--backend', 'nft', '--remove').status, 0, 'removing an absent table is fine');
});
