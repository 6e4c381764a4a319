import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config/parse.js';
import { MssmanglerError } from '../../src/errors.js';
import { applyIptables, removeIptables, splitRuleLine } from '../../src/firewall/iptables.js';
import { planFirewall } from '../../src/firewall/plan.js';
import { assertSafeArguments, runCommand, type CommandRunner } from '../../src/firewall/runner.js';

test('runner: only the firewall binaries, only plain arguments', async () => {
  assert.throws(() => assertSafeArguments('sh', ['-c', 'true']), /refusing to run "sh"/);
  for (const bad of ['a b', 'x;reboot', '$(id)', '`id`', 'a|b', 'a>b', '', 'a\nb', '"q"', "'q'", 'x&y']) {
    assert.throws(
      () => assertSafeArguments('iptables', ['-o', bad]),
      (e: unknown) => e instanceof MssmanglerError && e.code === 'ERR_FIREWALL_UNSAFE_ARGUMENT',
      JSON.stringify(bad),
    );
  }
  assert.doesNotThrow(() =>
    assertSafeArguments('ip6tables', ['-t', 'mangle', '-s', 'fd00::/8', '--mark', '0x10/0xff', '--dports', '1:2,3']),
  );
  await assert.rejects(() => runCommand('nft' as const, ['list;', 'ruleset']), /refusing to pass/);
});

test('runner: splits iptables -S lines, quoted comments included', () => {
  assert.deepEqual(splitRuleLine('-A FORWARD -p tcp -m comment --comment "two words" -j ACCEPT'), [
    '-A',
    'FORWARD',
    '-p',
    'tcp',
    '-m',
    'comment',
    '--comment',
    'two words',
    '-j',
    'ACCEPT',
  ]);
});

/** A fake iptables: a list of -S lines per binary; -C answers from it. */
function fakeFirewall(): { runner: CommandRunner; calls: string[]; rules: Map<string, string[]> } {
  const rules = new Map<string, string[]>([
    ['iptables', ['-A FORWARD -p udp -m comment --comment foreign -j ACCEPT']],
    ['ip6tables', []],
  ]);
  const calls: string[] = [];
  const runner: CommandRunner = async (binary, args) => {
    calls.push(`${binary} ${args.join(' ')}`);
    const list = rules.get(binary)!;
    const op = args[2];
    const spec = args.slice(3).join(' ');
    if (op === '-S') return { code: 0, stdout: list.join('\n') + '\n', stderr: '' };
    if (op === '-C') return list.includes(`-A ${spec}`) ? { code: 0, stdout: '', stderr: '' } : { code: 1, stdout: '', stderr: 'Bad rule' };
    if (op === '-A') list.push(`-A ${spec}`);
    if (op === '-D') list.splice(list.indexOf(`-A ${spec}`), 1);
    return { code: 0, stdout: '', stderr: '' };
  };
  return { runner, calls, rules };
}

test('apply: idempotent, converges on a changed plan, remove leaves foreign rules', async () => {
  const fw = fakeFirewall();
  const one = buildConfig(null, { setMss: 1380 });
  const two = buildConfig(null, { setMss: 1380, direction: 'syn' });
  assert.ok(one.ok && two.ok);
  if (!one.ok || !two.ok) return;
  const planOne = planFirewall(one.config, { family: 'both' });
  let reports = await applyIptables(planOne, 'both', fw.runner);
  assert.deepEqual(
    reports.map((r) => [r.binary, r.added, r.removed, r.unchanged]),
    [
      ['iptables', 2, 0, false],
      ['ip6tables', 2, 0, false],
    ],
  );
  const afterFirst = JSON.stringify([...fw.rules]);
  fw.calls.length = 0;
  reports = await applyIptables(planOne, 'both', fw.runner);
  assert.ok(reports.every((r) => r.unchanged));
  assert.equal(JSON.stringify([...fw.rules]), afterFirst);
  assert.ok(
    fw.calls.every((c) => / -S$| -C /.test(c)),
    'a second apply only checks',
  );

  reports = await applyIptables(planFirewall(two.config, { family: 'both' }), 'both', fw.runner);
  assert.deepEqual(
    reports.map((r) => [r.added, r.removed]),
    [
      [2, 2],
      [2, 2],
    ],
  );
  assert.equal(fw.rules.get('iptables')!.filter((l) => l.includes('SYN,ACK,RST,FIN SYN')).length, 2);
  assert.equal(fw.rules.get('iptables')!.length, 3);

  reports = await removeIptables('both', fw.runner);
  assert.deepEqual(
    reports.map((r) => r.removed),
    [2, 2],
  );
  assert.deepEqual(fw.rules.get('iptables'), ['-A FORWARD -p udp -m comment --comment foreign -j ACCEPT']);
  assert.deepEqual(fw.rules.get('ip6tables'), []);
  reports = await removeIptables('both', fw.runner);
  assert.ok(
    reports.every((r) => r.unchanged && r.removed === 0),
    'removing nothing is fine',
  );
});

test('apply: a failing firewall command is an ERR_FIREWALL error naming the command', async () => {
  const runner: CommandRunner = async (_binary, args) =>
    args[2] === '-S' ? { code: 0, stdout: '', stderr: '' } : { code: 2, stdout: '', stderr: "Couldn't load match `multiport'" };
  const one = buildConfig(null, { setMss: 1380 });
  assert.ok(one.ok);
  if (!one.ok) return;
  await assert.rejects(
    () => applyIptables(planFirewall(one.config, { family: 4 }), 4, runner),
    (e: unknown) =>
      e instanceof MssmanglerError && e.code === 'ERR_FIREWALL' && /iptables -t mangle -A FORWARD .*exit 2.*multiport/.test(e.message),
  );
});

test('apply: missing privilege is ERR_PERMISSION with the fix', async () => {
  const runner: CommandRunner = async () => ({
    code: 4,
    stdout: '',
    stderr: 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)',
  });
  await assert.rejects(
    () => removeIptables(4, runner),
    (e: unknown) =>
      e instanceof MssmanglerError &&
      e.code === 'ERR_PERMISSION' &&
      /needs CAP_NET_ADMIN.*run as root or grant the capability/.test(e.message),
  );
});
