// Least privilege: the daemon as user nobody holding only CAP_NET_ADMIN (setpriv: bounding set, inheritable
// and ambient sets reduced to net_admin, no supplementary groups) in the router namespace binds its
// queue, serves /metrics, and clamps a real TCP connection. Its /metrics (default 127.0.0.1:9465) is
// not reachable from another namespace: from the client, the router's addresses refuse port 9465.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, LabAddress } from '../lab/lab.js';
import { countServerSyns, events } from '../queue/queue-lab.js';
import { FIXTURES } from './daemon-lab.js';
import { applyRules, sample, scrape, startDaemon } from '../lab/daemon.js';

const TCP = `${FIXTURES}tcp.js`;

test('least privilege: as nobody with only CAP_NET_ADMIN the daemon binds and clamps; /metrics is loopback-only', async (t) => {
  const lab = await Lab.create({ tag: 'rpriv' });
  t.after(() => lab.destroy());
  await applyRules(lab, ['--queue', '35', '--set-mss', '1380', '--direction', 'syn', '--family', '4']);
  const counts = await countServerSyns(lab, [
    { family: 4, dport: 80, mss: 1380 },
    { family: 4, dport: 80, mss: 1460 },
  ]);
  const server = lab.spawn('server', process.execPath, [TCP, 'serve', '80']);
  await server.waitFor(/listening/);
  const daemon = await startDaemon(lab, ['--queue', '35', '--set-mss', '1380', '--direction', 'syn'], {
    wrapper: [
      'setpriv',
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      '--bounding-set=-all,+net_admin',
      '--inh-caps=-all,+net_admin',
      '--ambient-caps=-all,+net_admin',
    ],
  });
  const pid = daemon.process.pid!;
  const { stdout: status } = await lab.exec('router', 'cat', [`/proc/${pid}/status`]);
  const field = (name: string): string =>
    status
      .split('\n')
      .find((l) => l.startsWith(`${name}:`))!
      .split(/\s+/)
      .slice(1)
      .join(' ');
  const nobody = (await lab.exec('router', 'id', ['-u', 'nobody'])).stdout.trim();
  assert.equal(field('Uid').split(' ')[0], nobody, 'runs as nobody');
  assert.equal(BigInt(`0x${field('CapEff')}`), 1n << 12n, 'effective capabilities: exactly CAP_NET_ADMIN (bit 12)');
  assert.equal(BigInt(`0x${field('CapBnd')}`), 1n << 12n, 'bounding set: only CAP_NET_ADMIN');

  const client = lab.spawn('client', process.execPath, [TCP, 'connect', LabAddress.server4, '80', '0.3', '50', '3000']);
  const attempts = events((await client.exited).stdout) as Array<{ ok: boolean }>;
  assert.ok(attempts.length >= 3 && attempts.every((a) => a.ok), 'connections work');
  assert.deepEqual(await counts(), [attempts.length, 0], 'every SYN was clamped to 1380 by the unprivileged daemon');
  const metrics = await scrape(lab);
  assert.equal(sample(metrics, 'mssmangler_packets_total', { outcome: 'modified' }), attempts.length);
  // iptables runs as a child with the ambient CAP_NET_ADMIN (as under the systemd unit) to read the rule counters.
  assert.equal(
    sample(metrics, 'mssmangler_firewall_queued_packets_total', { family: 'ipv4' }),
    attempts.length,
    'rule counters readable unprivileged',
  );
  assert.equal(sample(metrics, 'mssmangler_queue_bypassed_packets_total', { queue: '35' }), 0);

  for (const address of [LabAddress.routerClientSide4, LabAddress.routerServerSide4, `[${LabAddress.routerClientSide6}]`]) {
    const probe = lab.spawn('client', 'curl', ['-s', '-m', '2', '-o', '/dev/null', '-w', '%{http_code}', `http://${address}:9465/metrics`]);
    const done = await probe.exited;
    assert.notEqual(done.code, 0, `from the client, ${address}:9465 is not reachable`);
    assert.equal(done.stdout, '000');
  }
  assert.ok(daemon.process.running);
});
