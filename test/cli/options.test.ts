import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkArgv, configFlags } from '../../src/cli/options.js';

// checkArgv is pure: the same table yargs would hand over, without spawning anything.
const cases: readonly [Record<string, unknown>, string | null][] = [
  [{ _: ['run'], 'set-mss': 1380 }, null],
  [{ _: ['run'], config: 'c.yaml' }, null],
  [{ _: ['run'], config: 'c.yaml', 'allow-increase': true, direction: 'syn' }, null],
  [{ _: ['run'] }, 'run needs rules: give --config FILE, or --set-mss N or --clamp-mss-to-pmtu'],
  [{ _: ['rules'], remove: true }, null],
  [{ _: ['rules'] }, 'rules needs rules: give --config FILE, or --set-mss N or --clamp-mss-to-pmtu'],
  [{ _: ['run'], 'clamp-mss-to-pmtu': true, 'set-mss': 1000 }, '--set-mss and --clamp-mss-to-pmtu are exclusive: pick one'],
  [{ _: ['run'], 'set-mss': Number.NaN }, '--set-mss needs an integer 48..65515'],
  [{ _: ['run'], 'set-mss': 1380.5 }, '--set-mss needs an integer 48..65515'],
  [{ _: ['run'], 'set-mss': 65516 }, '--set-mss 65516 is out of range; use 48..65515'],
  [{ _: ['run'], 'set-mss': 1380, queue: -1 }, '--queue -1 is out of range; use 0..65535'],
  [{ _: ['run'], 'set-mss': [1, 2], setMss: [1, 2] }, '--set-mss was given 2 times; give it once'],
  [{ _: ['run'], 'set-mss': 1380, 'log-format': 'xml' }, '--log-format xml is not allowed; use one of json, text'],
  [{ _: ['run'], 'set-mss': 1380, 'metrics-listen': 'off' }, null],
  [{ _: ['run'], 'set-mss': 1380, 'metrics-listen': '[::1]:9465' }, null],
  [
    { _: ['run'], 'set-mss': 1380, 'metrics-listen': 'localhost:99999' },
    '--metrics-listen: port 99999 in "localhost:99999" is out of range 1..65535; write e.g. 127.0.0.1:9465, [::1]:9465 or off',
  ],
  [{ _: ['rules'], 'set-mss': 1380, apply: true, remove: true }, '--apply and --remove are exclusive: pick one'],
  [{ _: ['run'], 'allow-increase': true }, 'run needs rules: give --config FILE, or --set-mss N or --clamp-mss-to-pmtu'],
  [{ _: ['run'], 'set-mss': 1380, 'manage-firewall': true }, null],
  [
    { _: ['run'], 'set-mss': 1380, 'manage-firewall': [true, false], manageFirewall: [true, false] },
    '--manage-firewall was given 2 times; give it once',
  ],
  [{ _: ['check-config'], 'allow-increase': true }, '--allow-increase needs a rule: add --set-mss N or --clamp-mss-to-pmtu'],
];

for (const [argv, expected] of cases) {
  test(`checkArgv ${JSON.stringify(argv)}`, () => {
    assert.equal(checkArgv(argv), expected);
  });
}

test('configFlags maps kebab-case flags to config fields and leaves absent ones undefined', () => {
  assert.deepEqual(
    configFlags({ _: ['run'], 'set-mss': 1380, 'fail-open': false, 'queue-maxlen': 10, 'metrics-listen': 'off', direction: 'syn' }),
    {
      queue: undefined,
      queueBalance: undefined,
      queueCpuFanout: undefined,
      queueMaxLen: 10,
      failOpen: false,
      dryRun: undefined,
      metricsListen: 'off',
      logLevel: undefined,
      logFormat: undefined,
      setMss: 1380,
      clampMssToPmtu: undefined,
      allowIncrease: undefined,
      direction: 'syn',
      manageFirewall: undefined,
    },
  );
  assert.equal(configFlags({ _: ['run'], 'manage-firewall': true }).manageFirewall, true);
  assert.equal(configFlags({ _: ['run'], 'manage-firewall': false }).manageFirewall, false);
});
