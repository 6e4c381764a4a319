import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/problem.js';
import type { Config } from '../../src/config/config.js';

function ok(text: string): Config {
  const result = parseConfig(text, 'test.yaml');
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  return result.config;
}

/** A one-rule config with `extra` lines spliced into the rule at line 4 onwards. */
function rule(extra: string): string {
  return `rules:\n  - name: r\n    action: set\n${extra}`;
}

interface Bad {
  readonly what: string;
  readonly yaml: string;
  readonly path: string;
  readonly line: number;
  /** The message must name the fix. */
  readonly fix: RegExp;
}

// One case per invalid field: the path, the line and a message that says how to fix it.
// prettier-ignore
const bad: readonly Bad[] = [
  { what: 'queue above 65535', yaml: 'queue: 70000\n' + rule('    mss: 1380\n'), path: 'queue', line: 1, fix: /use 0\.\.65535/ },
  { what: 'queue not a number', yaml: 'queue: zero\n' + rule('    mss: 1380\n'), path: 'queue', line: 1, fix: /integer 0\.\.65535/ },
  { what: 'queueMaxLen zero', yaml: 'queueMaxLen: 0\n' + rule('    mss: 1380\n'), path: 'queueMaxLen', line: 1, fix: /use 1\.\./ },
  { what: 'failOpen not boolean', yaml: 'failOpen: "yes"\n' + rule('    mss: 1380\n'), path: 'failOpen', line: 1, fix: /true or false/ },
  { what: 'dryRun not boolean', yaml: 'dryRun: 1\n' + rule('    mss: 1380\n'), path: 'dryRun', line: 1, fix: /true or false/ },
  { what: 'unknown top key with typo', yaml: 'queu: 1\n' + rule('    mss: 1380\n'), path: 'queu', line: 1, fix: /did you mean "queue"/ },
  { what: 'unknown top key far from any', yaml: 'zzzzzz: 1\n' + rule('    mss: 1380\n'), path: 'zzzzzz', line: 1, fix: /known keys: queue/ },
  { what: 'metrics listen without port', yaml: 'metrics: { listen: "127.0.0.1" }\n' + rule('    mss: 1380\n'), path: 'metrics.listen', line: 1, fix: /write e\.g\. "127\.0\.0\.1:9465"/ },
  { what: 'metrics port 0', yaml: 'metrics:\n  listen: "127.0.0.1:0"\n' + rule('    mss: 1380\n'), path: 'metrics.listen', line: 2, fix: /1\.\.65535/ },
  { what: 'metrics not a mapping', yaml: 'metrics: 9465\n' + rule('    mss: 1380\n'), path: 'metrics', line: 1, fix: /or false/ },
  { what: 'metrics unknown key', yaml: 'metrics: { lisen: "127.0.0.1:1" }\n' + rule('    mss: 1380\n'), path: 'metrics.lisen', line: 1, fix: /did you mean "listen"/ },
  { what: 'log level', yaml: 'log:\n  level: verbose\n' + rule('    mss: 1380\n'), path: 'log.level', line: 2, fix: /use one of error, warn, info, debug/ },
  { what: 'log level typo', yaml: 'log:\n  level: debg\n' + rule('    mss: 1380\n'), path: 'log.level', line: 2, fix: /did you mean "debug"/ },
  { what: 'log format', yaml: 'log: { format: xml }\n' + rule('    mss: 1380\n'), path: 'log.format', line: 1, fix: /json, text/ },
  { what: 'pmtu floor below 48', yaml: 'pmtu:\n  floorIpv4: 40\n' + rule('    mss: 1380\n'), path: 'pmtu.floorIpv4', line: 2, fix: /use 48\.\.65515/ },
  { what: 'pmtu floor IPv6 too big', yaml: 'pmtu:\n  floorIpv6: 65500\n' + rule('    mss: 1380\n'), path: 'pmtu.floorIpv6', line: 2, fix: /use 48\.\.65495/ },
  { what: 'rules missing', yaml: 'queue: 1\n', path: '', line: 1, fix: /add a "rules:" list/ },
  { what: 'rules empty', yaml: 'queue: 1\nrules: []\n', path: 'rules', line: 2, fix: /at least one rule/ },
  { what: 'rules not a list', yaml: 'rules: { name: a }\n', path: 'rules', line: 1, fix: /list of rules/ },
  { what: 'rule not a mapping', yaml: 'rules:\n  - vpn\n', path: 'rules[0]', line: 2, fix: /each rule is a mapping/ },
  { what: 'rule without name', yaml: 'rules:\n  - action: set\n    mss: 1380\n', path: 'rules[0]', line: 2, fix: /add "name:/ },
  { what: 'rule name with capitals', yaml: 'rules:\n  - name: VPN\n    action: set\n    mss: 1380\n', path: 'rules[0].name', line: 2, fix: /a-z, 0-9/ },
  {
    what: 'duplicate rule name',
    yaml: 'rules:\n  - name: a\n    action: set\n    mss: 1380\n  - name: a\n    action: set\n    mss: 1400\n',
    path: 'rules[1].name',
    line: 5,
    fix: /make them unique/,
  },
  { what: 'rule unknown key', yaml: rule('    mss: 1380\n    allowincrease: true\n'), path: 'rules[0].allowincrease', line: 5, fix: /did you mean "allowIncrease"/ },
  { what: 'action missing', yaml: 'rules:\n  - name: r\n    mss: 1380\n', path: 'rules[0]', line: 2, fix: /add "action: set"/ },
  { what: 'action unknown', yaml: 'rules:\n  - name: r\n    action: clamp\n', path: 'rules[0].action', line: 3, fix: /set, clamp-to-pmtu/ },
  { what: 'set without mss', yaml: rule(''), path: 'rules[0]', line: 2, fix: /needs "mss: N"/ },
  { what: 'mss below 48', yaml: rule('    mss: 40\n'), path: 'rules[0].mss', line: 4, fix: /ignored; use 48\.\.65495/ },
  {
    what: 'mss above the IPv4 bound',
    yaml: rule('    match: { family: 4 }\n    mss: 70000\n'),
    path: 'rules[0].mss',
    line: 5,
    fix: /70000 is above 65515, the largest IPv4 MSS; use 48\.\.65515/,
  },
  { what: 'mss above the IPv6 bound', yaml: rule('    match: { family: 6 }\n    mss: 65500\n'), path: 'rules[0].mss', line: 5, fix: /largest IPv6 MSS; use 48\.\.65495/ },
  { what: 'mss above IPv6 bound with both families', yaml: rule('    mss: 65500\n'), path: 'rules[0].mss', line: 4, fix: /family: 4\); use 48\.\.65495/ },
  { what: 'mss not an integer', yaml: rule('    mss: 1380.5\n'), path: 'rules[0].mss', line: 4, fix: /integer 48\.\./ },
  {
    what: 'mss with clamp-to-pmtu',
    yaml: 'rules:\n  - name: r\n    action: clamp-to-pmtu\n    mss: 1380\n',
    path: 'rules[0].mss',
    line: 4,
    fix: /remove mss, or use action: set/,
  },
  { what: 'allowIncrease not boolean', yaml: rule('    mss: 1380\n    allowIncrease: yes\n'), path: 'rules[0].allowIncrease', line: 5, fix: /true or false/ },
  { what: 'insert below 48', yaml: rule('    mss: 1380\n    insert: 10\n'), path: 'rules[0].insert', line: 5, fix: /use 48\.\./ },
  { what: 'insert a string', yaml: rule('    mss: 1380\n    insert: kernel\n'), path: 'rules[0].insert', line: 5, fix: /use true .*false, or an MSS/ },
  { what: 'rule dryRun not boolean', yaml: rule('    mss: 1380\n    dryRun: 0\n'), path: 'rules[0].dryRun', line: 5, fix: /true or false/ },
  { what: 'match not a mapping', yaml: rule('    mss: 1380\n    match: eth0\n'), path: 'rules[0].match', line: 5, fix: /write a mapping/ },
  { what: 'match unknown key', yaml: rule('    mss: 1380\n    match:\n      src: "198.51.100.0/24"\n'), path: 'rules[0].match.src', line: 6, fix: /known keys|did you mean/ },
  { what: 'family 5', yaml: rule('    mss: 1380\n    match:\n      family: 5\n'), path: 'rules[0].match.family', line: 6, fix: /use 4, 6 or both/ },
  { what: 'direction', yaml: rule('    mss: 1380\n    match:\n      direction: ack\n'), path: 'rules[0].match.direction', line: 6, fix: /syn, synack, both/ },
  { what: 'bad prefix', yaml: rule('    mss: 1380\n    match:\n      source: ["198.51.100.0/24", "300.1.1.1/8"]\n'), path: 'rules[0].match.source[1]', line: 6, fix: /write e\.g\./ },
  { what: 'prefix length too long', yaml: rule('    mss: 1380\n    match:\n      destination: "fd00::/129"\n'), path: 'rules[0].match.destination', line: 6, fix: /use 0\.\.128/ },
  { what: 'prefix with host bits', yaml: rule('    mss: 1380\n    match:\n      source: "198.51.100.7/24"\n'), path: 'rules[0].match.source', line: 6, fix: /write "198\.51\.100\.0\/24"/ },
  {
    what: 'prefix of the wrong family',
    yaml: rule('    mss: 1380\n    match:\n      family: 4\n      source: ["fd00::/8"]\n'),
    path: 'rules[0].match.source[0]',
    line: 7,
    fix: /set family: both/,
  },
  {
    what: 'source and destination of different families',
    yaml: rule('    mss: 1380\n    match:\n      source: "198.51.100.0/24"\n      destination: "fd00::/8"\n'),
    path: 'rules[0].match.destination',
    line: 7,
    fix: /one rule per family/,
  },
  { what: 'empty prefix list', yaml: rule('    mss: 1380\n    match:\n      source: []\n'), path: 'rules[0].match.source', line: 6, fix: /remove the key/ },
  { what: 'port above 65535', yaml: rule('    mss: 1380\n    match:\n      sourcePort: [443, 70000]\n'), path: 'rules[0].match.sourcePort[1]', line: 6, fix: /0\.\.65535/ },
  { what: 'port range backwards', yaml: rule('    mss: 1380\n    match:\n      destinationPort: "2000-1000"\n'), path: 'rules[0].match.destinationPort', line: 6, fix: /write "1000-2000"/ },
  { what: 'port garbage', yaml: rule('    mss: 1380\n    match:\n      destinationPort: https\n'), path: 'rules[0].match.destinationPort', line: 6, fix: /"FROM-TO"/ },
  { what: 'interface wildcard', yaml: rule('    mss: 1380\n    match:\n      outInterface: "wg+"\n'), path: 'rules[0].match.outInterface', line: 6, fix: /no wildcards/ },
  { what: 'interface too long', yaml: rule('    mss: 1380\n    match:\n      inInterface: abcdefghijklmnop\n'), path: 'rules[0].match.inInterface', line: 6, fix: /1\.\.15/ },
  { what: 'interface ..', yaml: rule('    mss: 1380\n    match:\n      inInterface: ".."\n'), path: 'rules[0].match.inInterface', line: 6, fix: /not \. or \.\./ },
  { what: 'interface starting with -', yaml: rule('    mss: 1380\n    match:\n      inInterface: "-j"\n'), path: 'rules[0].match.inInterface', line: 6, fix: /not starting with -/ },
  { what: 'mark syntax', yaml: rule('    mss: 1380\n    match:\n      mark: "0x10/"\n'), path: 'rules[0].match.mark', line: 6, fix: /VALUE\/MASK/ },
  { what: 'mark beyond 32 bits', yaml: rule('    mss: 1380\n    match:\n      mark: "0x1ffffffff"\n'), path: 'rules[0].match.mark', line: 6, fix: /VALUE\/MASK/ },
  { what: 'mark outside its mask', yaml: rule('    mss: 1380\n    match:\n      mark: "0x110/0xff"\n'), path: 'rules[0].match.mark', line: 6, fix: /clear them or widen the mask/ },
  { what: 'not YAML', yaml: 'rules: [\n', path: '', line: 2, fix: /not valid YAML/ },
  { what: 'duplicate key', yaml: 'queue: 1\nqueue: 2\n' + rule('    mss: 1380\n'), path: '', line: 2, fix: /key "queue" appears twice; keep one|appears twice .*keep one/ },
  { what: 'tab indentation', yaml: 'rules:\n\t- name: r\n', path: '', line: 2, fix: /indent with spaces|not valid YAML/ },
  { what: 'not a mapping', yaml: '- a\n- b\n', path: '', line: 1, fix: /must be a YAML mapping/ },
];

for (const c of bad) {
  test(`config: ${c.what} -> ${c.path || '(file)'} at line ${c.line}`, () => {
    const result = parseConfig(c.yaml, 'test.yaml');
    assert.equal(result.ok, false, 'the config must be rejected');
    if (result.ok) return;
    const problem = result.problems.find((p) => p.path === c.path);
    assert.ok(problem, `no problem at ${c.path}; got ${JSON.stringify(result.problems)}`);
    assert.equal(problem.file, 'test.yaml');
    assert.equal(problem.line, c.line, formatProblem(problem));
    assert.match(problem.message, c.fix);
    assert.equal(formatProblem(problem), `test.yaml:${c.line}: ${c.path === '' ? '' : `${c.path}: `}${problem.message}`);
  });
}

test('config: every problem is reported, not only the first, in line order', () => {
  const result = parseConfig('queue: -1\nlog: { level: loud }\nrules:\n  - name: a\n    action: set\n    mss: 1\n', 'f.yaml');
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(
    result.problems.map((p) => [p.line, p.path]),
    [
      [1, 'queue'],
      [2, 'log.level'],
      [6, 'rules[0].mss'],
    ],
  );
});

test('config: a minimal file gets every default', () => {
  const config = ok('rules:\n  - name: vpn-clamp\n    action: set\n    mss: 1380\n');
  assert.deepEqual(config, {
    file: 'test.yaml',
    queue: 0,
    queues: { first: 0, last: 0 },
    queueCpuFanout: false,
    queueMaxLen: 4096,
    failOpen: true,
    dryRun: false,
    metrics: { host: '127.0.0.1', port: 9465 },
    log: { level: 'info', format: 'json' },
    pmtu: { floorIpv4: 536, floorIpv6: 1220 },
    firewall: { manage: false, checkIntervalMs: 5000 },
    rules: [
      {
        name: 'vpn-clamp',
        match: {
          family: 'both',
          direction: 'both',
          source: [],
          destination: [],
          sourcePort: [],
          destinationPort: [],
          inInterface: null,
          outInterface: null,
          mark: null,
        },
        action: 'set',
        mss: 1380,
        allowIncrease: false,
        insert: true,
        dryRun: false,
        select: null,
      },
    ],
  });
});

const full = `# every field
queue: 7
queueMaxLen: 1024
failOpen: false
dryRun: true
metrics: { listen: "[::1]:9100" }
log: { level: debug, format: text }
pmtu: { floorIpv4: 600, floorIpv6: 1240 }
rules:
  - name: vpn-clamp
    match:
      family: 6
      direction: syn
      source: ["fd00:0:0:1::/64", "2001:db8::1"]
      destination: "fd00::/8"
      sourcePort: [443, "1000-2000"]
      destinationPort: 80
      inInterface: eth0
      outInterface: wg0
      mark: "0x10/0xff"
    action: clamp-to-pmtu
    insert: false
  - name: lab_raise
    match: { family: 4, source: 198.51.100.0/24, mark: 16 }
    action: set
    mss: 65515
    allowIncrease: true
    insert: 1400
    dryRun: true
`;

test('config: every field parses to the expected values', () => {
  const c = ok(full);
  assert.equal(c.queue, 7);
  assert.equal(c.queueMaxLen, 1024);
  assert.equal(c.failOpen, false);
  assert.equal(c.dryRun, true);
  assert.deepEqual(c.metrics, { host: '::1', port: 9100 });
  assert.deepEqual(c.log, { level: 'debug', format: 'text' });
  assert.deepEqual(c.pmtu, { floorIpv4: 600, floorIpv6: 1240 });
  const [a, b] = c.rules;
  assert.ok(a && b);
  assert.equal(a.action, 'clamp-to-pmtu');
  assert.equal(a.mss, 0);
  assert.equal(a.insert, false);
  assert.equal(a.match.family, 6);
  assert.equal(a.match.direction, 'syn');
  assert.deepEqual(
    a.match.source.map((p) => p.text),
    ['fd00:0:0:1::/64', '2001:db8::1/128'],
  );
  assert.deepEqual(a.match.source[1]!.bytes, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(
    a.match.destination.map((p) => [p.text, p.length]),
    [['fd00::/8', 8]],
  );
  assert.deepEqual(a.match.sourcePort, [
    { from: 443, to: 443 },
    { from: 1000, to: 2000 },
  ]);
  assert.deepEqual(a.match.destinationPort, [{ from: 80, to: 80 }]);
  assert.equal(a.match.inInterface, 'eth0');
  assert.equal(a.match.outInterface, 'wg0');
  assert.deepEqual(a.match.mark, { value: 0x10, mask: 0xff });
  assert.equal(b.mss, 65515, 'family 4 allows the IPv4 bound');
  assert.equal(b.allowIncrease, true);
  assert.equal(b.insert, 1400);
  assert.equal(b.dryRun, true);
  assert.deepEqual(b.match.mark, { value: 16, mask: 0xffffffff });
  assert.deepEqual(b.match.source[0]!.bytes, [198, 51, 100, 0]);
});

test('config: the result is deeply frozen', () => {
  const c = ok(full);
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.rules));
  assert.ok(Object.isFrozen(c.rules[0]!.match.source[0]!.bytes));
  assert.ok(Object.isFrozen(c.log));
  assert.throws(() => {
    (c as { queue: number }).queue = 3;
  }, TypeError);
});

test('config: prefixes of one family narrow the MSS bound of a family-both rule', () => {
  assert.equal(ok(rule('    match: { source: "198.51.100.0/24" }\n    mss: 65515\n')).rules[0]!.mss, 65515);
  const v6 = parseConfig(rule('    match: { destination: "fd00::/8" }\n    mss: 65500\n'), 'test.yaml');
  assert.equal(v6.ok, false);
  if (!v6.ok) assert.match(v6.problems[0]!.message, /largest IPv6 MSS; use 48\.\.65495/);
});

test('config: an alias bomb is one problem, not a hang or a crash', () => {
  let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 9; i++)
    text += `a${i}: &a${i} [${Array(10)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  const result = parseConfig(text, 'bomb.yaml');
  assert.equal(result.ok, false);
  if (!result.ok) assert.match(formatProblem(result.problems[0]!), /^bomb\.yaml: cannot be expanded: .*; use fewer YAML aliases$/);
});

test('config: metrics: false turns the endpoint off', () => {
  assert.equal(ok('metrics: false\n' + rule('    mss: 1380\n')).metrics, null);
});

test('config: firewall: manage and checkInterval as seconds or with a unit', () => {
  const rule = 'rules:\n  - name: a\n    action: set\n    mss: 1380\n';
  assert.deepEqual(ok(`firewall: { manage: true }\n${rule}`).firewall, { manage: true, checkIntervalMs: 5000 });
  assert.deepEqual(ok(`firewall: { manage: true, checkInterval: 2 }\n${rule}`).firewall, { manage: true, checkIntervalMs: 2000 });
  assert.deepEqual(ok(`firewall: { checkInterval: 0.5 }\n${rule}`).firewall, { manage: false, checkIntervalMs: 500 });
  assert.equal(ok(`firewall: { checkInterval: "250ms" }\n${rule}`).firewall.checkIntervalMs, 250);
  assert.equal(ok(`firewall: { checkInterval: "5s" }\n${rule}`).firewall.checkIntervalMs, 5000);
  assert.equal(ok(`firewall: { checkInterval: 1m }\n${rule}`).firewall.checkIntervalMs, 60000);
});

test('config: firewall problems name the line and the fix', () => {
  const rule = 'rules:\n  - name: a\n    action: set\n    mss: 1380\n';
  const problems = (text: string): string[] => {
    const r = parseConfig(text, 'fw.yaml');
    assert.ok(!r.ok);
    return r.ok ? [] : r.problems.map(formatProblem);
  };
  const fix = 'write seconds (e.g. 5 or 0.5) or "5s", "500ms", "1m", from 100 ms to 3600 s';
  assert.deepEqual(problems(`firewall: { checkInterval: "5 sec" }\n${rule}`), [
    `fw.yaml:1: firewall.checkInterval: "5 sec" is not a duration; ${fix}`,
  ]);
  assert.deepEqual(problems(`firewall: { checkInterval: 0.01 }\n${rule}`), [
    `fw.yaml:1: firewall.checkInterval: 0.01 is out of range; ${fix}`,
  ]);
  assert.deepEqual(problems(`firewall: { checkInterval: 2h }\n${rule}`), [
    `fw.yaml:1: firewall.checkInterval: "2h" is not a duration; ${fix}`,
  ]);
  assert.deepEqual(problems(`firewall: { manage: yes please }\n${rule}`), [
    'fw.yaml:1: firewall.manage: "yes please" is not a boolean; use true or false',
  ]);
  assert.deepEqual(problems(`firewall: { manag: true }\n${rule}`), [
    'fw.yaml:1: firewall.manag: unknown key "manag"; did you mean "manage"?',
  ]);
  assert.deepEqual(problems(`firewall: true\n${rule}`), [
    'fw.yaml:1: firewall: is true; write a mapping, e.g. { manage: true, checkInterval: "5s" }',
  ]);
});
