// The built command, spawned as an operator would run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = join(process.cwd(), 'dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'mssmangler-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o644 });
  return path;
}

const good = file(
  'good.yaml',
  'queue: 2\nrules:\n  - name: vpn\n    match: { family: 6, direction: syn, outInterface: wg0 }\n    action: set\n    mss: 1380\n',
);

test('cli: --version prints the package version', () => {
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
  assert.deepEqual(run('--version'), { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
});

test('cli: --help lists the commands, each command has help with examples', () => {
  const top = run('--help');
  assert.equal(top.code, 0);
  for (const c of ['run', 'check-config <file>', 'rules', 'Exit codes:']) assert.ok(top.stdout.includes(c), c);
  for (const [command, flags] of [
    [
      'run',
      [
        '--set-mss',
        '--clamp-mss-to-pmtu',
        '--allow-increase',
        '--direction',
        '--dry-run',
        '--metrics-listen',
        '--log-level',
        '--fail-open',
        '--queue-maxlen',
        '--queue',
        '--config',
      ],
    ],
    ['check-config', ['<file>']],
    ['rules', ['--backend', '--family', '--apply', '--remove', '--set-mss', '--config', '--queue']],
  ] as const) {
    const r = run(command, '--help');
    assert.equal(r.code, 0, command);
    assert.match(r.stdout, /Examples:/, command);
    for (const flag of flags) assert.ok(r.stdout.includes(flag), `${command} --help mentions ${flag}`);
  }
});

test('cli: check-config says OK for a good file', () => {
  assert.deepEqual(run('check-config', good), { code: 0, stdout: 'configuration OK\n', stderr: '' });
});

test('cli: check-config lists every problem, one line each, and exits 2', () => {
  const bad = file('bad.yaml', 'queue: 70000\nrules:\n  - name: a\n    action: set\n    mss: 30\n  - name: a\n    action: clamp\n');
  const r = run('check-config', bad);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trimEnd().split('\n'), [
    `${bad}:1: queue: 70000 is out of range for a queue number; use 0..65535`,
    `${bad}:5: rules[0].mss: 30 is below 48: Linux peers raise any MSS below 48 (net.ipv4.tcp_min_snd_mss), so it would be ignored; use 48..65495`,
    `${bad}:6: rules[1].name: "a" is already the name of rules[0]; rule names label metrics and logs, so make them unique`,
    `${bad}:7: rules[1].action: "clamp" is not allowed; use one of set, clamp-to-pmtu, oversize, strip, zero, duplicate`,
  ]);
});

test('cli: check-config on a missing file is one line and exit 2', () => {
  const missing = join(dir, 'nope.yaml');
  const r = run('check-config', missing);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, `${missing}: does not exist; check the path, or create it (see README "## Configuration")\n`);
});

// Bad flags: one line naming the flag and the fix, exit 2.
const badFlags: readonly [string[], string][] = [
  [[], 'mssmangler: give a command: run, check-config, rules or explain; mssmangler --help shows the usage'],
  [['frob'], 'mssmangler: unknown command frob; use one of run, check-config, rules, explain'],
  [['run', '--set-mss', '1380', '--frob'], 'mssmangler: unknown flag --frob; mssmangler run --help lists the flags'],
  [['run', '--set-mss', '1380', '--clamp-mss-to-pmtu'], 'mssmangler: --set-mss and --clamp-mss-to-pmtu are exclusive: pick one'],
  [['run', '--set-mss', 'big'], 'mssmangler: --set-mss needs an integer 48..65515'],
  [['run', '--set-mss', '20'], 'mssmangler: --set-mss 20 is out of range; use 48..65515'],
  [['run', '--set-mss'], 'mssmangler: --set-mss needs a value; mssmangler run --help describes it'],
  [['run', '--set-mss', '1380', '--queue', '70000'], 'mssmangler: --queue 70000 is out of range; use 0..65535'],
  [['run', '--set-mss', '1380', '--queue', '1', '--queue', '2'], 'mssmangler: --queue was given 2 times; give it once'],
  [['run', '--set-mss', '1380', '--direction', 'in'], 'mssmangler: --direction in is not allowed; use one of syn, synack, both'],
  [['run', '--set-mss', '1380', '--log-level', 'loud'], 'mssmangler: --log-level loud is not allowed; use one of error, warn, info, debug'],
  [
    ['run', '--set-mss', '1380', '--metrics-listen', '9465'],
    'mssmangler: --metrics-listen: "9465" is not HOST:PORT; write e.g. 127.0.0.1:9465, [::1]:9465 or off',
  ],
  [['run', '--set-mss', '1380', '--queue-maxlen', '0'], 'mssmangler: --queue-maxlen 0 is out of range; use 1..1048576'],
  [['run'], 'mssmangler: run needs rules: give --config FILE, or --set-mss N or --clamp-mss-to-pmtu'],
  [['rules', '--set-mss', '1380', '--apply', '--remove'], 'mssmangler: --apply and --remove are exclusive: pick one'],
  [['rules', '--set-mss', '1380', '--backend', 'pf'], 'mssmangler: --backend pf is not allowed; use one of iptables, nft'],
  [['rules', '--set-mss', '1380', '--family', '5'], 'mssmangler: --family 5 is not allowed; use one of 4, 6, both'],
  [['check-config'], 'mssmangler: check-config needs a FILE: mssmangler check-config /etc/mssmangler/config.yaml'],
  [['check-config', good, 'extra'], 'mssmangler: unexpected argument extra; mssmangler check-config --help shows the usage'],
  [
    ['run', '--set-mss', '65500'],
    '--set-mss: 65500 is above 65495, the largest IPv6 MSS (the rule matches both families; IPv4 allows 65515 with family: 4); use 48..65495',
  ],
];

for (const [args, line] of badFlags) {
  test(`cli: bad flags ${JSON.stringify(args)} -> one line, exit 2`, () => {
    const r = run(...args);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `${line}\n`);
    assert.equal(r.code, 2);
  });
}

test('cli: run with a config that does not exist is one line and exit 2', () => {
  const r = run('run', '--config', join(dir, 'absent.yaml'));
  assert.equal(r.code, 2);
  assert.equal(r.stderr.split('\n').length, 2);
  assert.match(r.stderr, /absent\.yaml: does not exist/);
});

test('cli: rules prints the iptables commands (golden)', () => {
  const r = run('rules', '--config', good);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'ip6tables -t mangle -A FORWARD -p tcp -o wg0 -m tcp --tcp-flags SYN,ACK,RST,FIN SYN -m comment --comment mssmangler -j NFQUEUE --queue-num 2 --queue-bypass\n' +
      'ip6tables -t mangle -A OUTPUT -p tcp -o wg0 -m tcp --tcp-flags SYN,ACK,RST,FIN SYN -m comment --comment mssmangler -j NFQUEUE --queue-num 2 --queue-bypass\n',
  );
});

test('cli: flags override the file (--queue) and rule flags apply to its rules (--direction)', () => {
  const r = run('rules', '--config', good, '--queue', '9', '--direction', 'both', '--family', '6');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'ip6tables -t mangle -A FORWARD -p tcp -o wg0 -m tcp --tcp-flags SYN,RST,FIN SYN -m comment --comment mssmangler -j NFQUEUE --queue-num 9 --queue-bypass\n' +
      'ip6tables -t mangle -A OUTPUT -p tcp -o wg0 -m tcp --tcp-flags SYN,RST,FIN SYN -m comment --comment mssmangler -j NFQUEUE --queue-num 9 --queue-bypass\n',
  );
});

test('cli: rules --backend nft prints the nft script (golden)', () => {
  const r = run('rules', '--set-mss', '1380', '--direction', 'synack', '--queue', '7', '--backend', 'nft', '--family', '4');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      '#!/usr/sbin/nft -f',
      '# mssmangler: queue the TCP SYN and SYN/ACK segments the rules need',
      'table inet mssmangler',
      'delete table inet mssmangler',
      'table inet mssmangler {',
      '\tchain forward {',
      '\t\ttype filter hook forward priority mangle; policy accept;',
      '\t\tmeta nfproto ipv4 tcp flags & (fin | syn | rst | ack) == syn | ack queue num 7 bypass comment "mssmangler"',
      '\t}',
      '\tchain output {',
      '\t\ttype filter hook output priority mangle; policy accept;',
      '\t\tmeta nfproto ipv4 oifname != "lo" tcp flags & (fin | syn | rst | ack) == syn | ack queue num 7 bypass comment "mssmangler"',
      '\t}',
      '}',
      '',
    ].join('\n'),
  );
});

test('cli: rules --queue-balance spreads over a range (iptables golden), --queue-cpu-fanout by CPU', () => {
  const r = run('rules', '--set-mss', '1380', '--direction', 'syn', '--queue-balance', '2:5', '--family', '4');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'iptables -t mangle -A FORWARD -p tcp -m tcp --tcp-flags SYN,ACK,RST,FIN SYN -m comment --comment mssmangler -j NFQUEUE --queue-balance 2:5 --queue-bypass\n' +
      'iptables -t mangle -A OUTPUT -p tcp ! -o lo -m tcp --tcp-flags SYN,ACK,RST,FIN SYN -m comment --comment mssmangler -j NFQUEUE --queue-balance 2:5 --queue-bypass\n',
  );
  const fanout = run('rules', '--set-mss', '1380', '--direction', 'syn', '--queue-balance', '2:5', '--queue-cpu-fanout', '--family', '6');
  assert.equal(fanout.code, 0, fanout.stderr);
  assert.match(fanout.stdout, /^ip6tables -t mangle -A FORWARD .* -j NFQUEUE --queue-balance 2:5 --queue-cpu-fanout --queue-bypass\n/);
});

test('cli: rules --backend nft with a queue range (golden), fanout as a queue flag', () => {
  const r = run(
    'rules',
    '--set-mss',
    '1380',
    '--direction',
    'synack',
    '--queue-balance',
    '0:1',
    '--queue-cpu-fanout',
    '--backend',
    'nft',
    '--family',
    '4',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [
      '#!/usr/sbin/nft -f',
      '# mssmangler: queue the TCP SYN and SYN/ACK segments the rules need',
      'table inet mssmangler',
      'delete table inet mssmangler',
      'table inet mssmangler {',
      '\tchain forward {',
      '\t\ttype filter hook forward priority mangle; policy accept;',
      '\t\tmeta nfproto ipv4 tcp flags & (fin | syn | rst | ack) == syn | ack queue num 0-1 bypass,fanout comment "mssmangler"',
      '\t}',
      '\tchain output {',
      '\t\ttype filter hook output priority mangle; policy accept;',
      '\t\tmeta nfproto ipv4 oifname != "lo" tcp flags & (fin | syn | rst | ack) == syn | ack queue num 0-1 bypass,fanout comment "mssmangler"',
      '\t}',
      '}',
      '',
    ].join('\n'),
  );
});

test('cli: rules for a family no rule selects says so and prints nothing', () => {
  const r = run('rules', '--config', good, '--family', '4');
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'mssmangler: no rule selects IPv4 packets; nothing to queue\n');
});

test('cli: rules --remove without CAP_NET_ADMIN is one line naming the fix, exit 3', () => {
  // As root, drop to nobody first; an unprivileged test run (npm run test:unit) already lacks the capability.
  const args = [process.execPath, cli, 'rules', '--remove', '--family', '4'];
  const dropped =
    process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', ...args] : args;
  const r = spawnSync(dropped[0]!, dropped.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 3, r.stderr);
  assert.equal(r.stderr.split('\n').length, 2);
  assert.match(r.stderr, /^mssmangler: iptables needs CAP_NET_ADMIN to change the firewall .*; run as root or grant the capability\n$/);
});
