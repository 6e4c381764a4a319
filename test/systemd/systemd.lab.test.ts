// The Debian package under a real systemd (issue 8, "A real systemd"): build the package, boot a
// container whose PID 1 is systemd (test/systemd/container.ts), install the package with dpkg -i and
// run the service the way an operator does: enable --now, look at the process, send traffic through
// the container's OUTPUT path, edit the config and reload, upgrade, let the watchdog catch a hung
// daemon, stop, read the journal, purge. Every step asserts what would break if the feature broke.
//
// Inside the container a second network namespace (the "peer", over a veth pair) holds a TCP listener
// and a tcpdump; connections from the container to it leave through OUTPUT, where the package's
// rules queue their SYNs to the daemon. The first config is the shipped example: its vpn-clamp rule
// sets MSS 1380 towards 198.51.100.0/24 port 443, which is where the peer listens.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { requireRoot } from '../lab/lab.js';
import { readPcap } from '../lab/pcap.js';
import { run } from '../lab/run.js';
import { readSyn } from '../queue/syn.js';
import { SystemdContainer } from './container.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT = 'mssmangler.service';
const CONFIG = '/etc/mssmangler/config.yaml';
const PEER_NS = 'mmpeer';
const LOCAL_ADDRESS = '198.51.100.1';
const PEER_ADDRESS = '198.51.100.2';
const PEER_PORT = 443;
/** The example config's vpn-clamp value, then what the test edits it to. */
const SHIPPED_MSS = 1380;
const EDITED_MSS = 1300;
/** The watchdog the test shortens the unit's to (a drop-in, as an operator would). */
const TEST_WATCHDOG_SEC = 2;
/** CAP_NET_ADMIN is capability 12 (linux/capability.h): the only bit in every set of the daemon. */
const CAP_NET_ADMIN_ONLY = (1n << 12n).toString(16).padStart(16, '0');

/** How the shipped unit keeps the queue's firewall rules: hooks around the daemon (ExecStartPre= applies
 * them, ExecStopPost= removes them) or the daemon itself (--manage-firewall in the unit, or
 * `firewall: { manage: true }` in the shipped config). Read from the files, so the test follows whichever
 * the package uses; either way the rules exist while the service runs and are gone after it stops. */
function firewallManagement(unit: string, config: string): { mode: 'exec-hooks' | 'daemon'; backend: 'iptables' | 'nft' } {
  const exec = unit.split('\n').filter((l) => /^Exec(StartPre|Start|StopPost)=/.test(l));
  const backend = exec.some((l) => /--backend[= ]nft/.test(l)) ? 'nft' : 'iptables';
  const daemonFlag = exec.some((l) => l.startsWith('ExecStart=') && l.includes('--manage-firewall'));
  const daemonConfig = (parseYaml(config) as { firewall?: { manage?: unknown } } | null)?.firewall?.manage === true;
  if (daemonFlag || daemonConfig) return { mode: 'daemon', backend };
  const applies = exec.some((l) => l.startsWith('ExecStartPre=') && /rules --apply/.test(l));
  const removes = exec.some((l) => l.startsWith('ExecStopPost=') && /rules --remove/.test(l));
  assert.ok(
    applies && removes,
    'the unit neither runs `rules --apply`/`rules --remove` around the daemon nor has the daemon manage its rules (--manage-firewall, firewall.manage): nothing keeps the queue rules',
  );
  return { mode: 'exec-hooks', backend };
}

/** The queue rules mssmangler installed in the container's firewall (its comment marks them). */
async function queueRules(c: SystemdContainer, backend: 'iptables' | 'nft'): Promise<string[]> {
  const listings =
    backend === 'nft'
      ? [(await c.exec('nft', ['list', 'ruleset'])).stdout]
      : [(await c.exec('iptables', ['-t', 'mangle', '-S'])).stdout, (await c.exec('ip6tables', ['-t', 'mangle', '-S'])).stdout];
  return listings
    .join('\n')
    .split('\n')
    .filter((l) => l.includes('mssmangler') && /NFQUEUE|queue/.test(l));
}

/** The peer namespace inside the container, its listener, and a capture of each connection's SYN. */
async function buildPeer(c: SystemdContainer): Promise<void> {
  await c.exec('ip', ['netns', 'add', PEER_NS]);
  await c.exec('ip', ['link', 'add', 'mm0', 'type', 'veth', 'peer', 'name', 'mm1', 'netns', PEER_NS]);
  await c.exec('ip', ['addr', 'add', `${LOCAL_ADDRESS}/24`, 'dev', 'mm0']);
  await c.exec('ip', ['link', 'set', 'mm0', 'up']);
  await c.exec('ip', ['-n', PEER_NS, 'addr', 'add', `${PEER_ADDRESS}/24`, 'dev', 'mm1']);
  await c.exec('ip', ['-n', PEER_NS, 'link', 'set', 'mm1', 'up']);
  await c.exec('ip', ['-n', PEER_NS, 'link', 'set', 'lo', 'up']);
  const listener = `require('net').createServer((s) => s.end()).listen(${PEER_PORT}, '${PEER_ADDRESS}')`;
  await c.exec('systemd-run', [
    '--unit=mm-listener',
    `--property=NetworkNamespacePath=/run/netns/${PEER_NS}`,
    '/usr/bin/node',
    '-e',
    listener,
  ]);
}

let captureCounter = 0;

/** Opens one real TCP connection from the container to the peer and returns the MSS of the SYN the
 * peer received (captured with tcpdump in the peer's namespace, started through systemd-run). */
async function synMssAtPeer(c: SystemdContainer): Promise<number> {
  const unit = `mm-capture-${++captureCounter}`;
  const file = `/var/tmp/${unit}.pcap`;
  await c.exec('systemd-run', [
    `--unit=${unit}`,
    '--collect',
    `--property=NetworkNamespacePath=/run/netns/${PEER_NS}`,
    'tcpdump',
    '-i',
    'mm1',
    '-n',
    '-U',
    '--immediate-mode',
    '-w',
    file,
    'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0',
  ]);
  await waitUntil(`${unit} listening`, 10_000, async () => (await c.journal(unit)).some((l) => l.includes('listening on')));
  const connect = `const s = require('net').connect(${PEER_PORT}, '${PEER_ADDRESS}', () => s.end()); s.on('error', (e) => { console.error(e.message); process.exit(1); }); s.setTimeout(5000, () => process.exit(2));`;
  await c.exec('/usr/bin/node', ['-e', connect]);
  await sleep(100);
  await c.systemctl('stop', unit);
  const syns = readPcap(await c.readFile(file))
    .map((p) => readSyn(p.ip))
    .filter((s) => s !== undefined && s.dport === PEER_PORT);
  assert.equal(syns.length, 1, `expected one SYN to port ${PEER_PORT} at the peer, captured ${syns.length}`);
  assert.ok(syns[0]!.checksumOk, 'the SYN the peer received has a wrong TCP checksum');
  return syns[0]!.mss;
}

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The daemon's JSON log lines in the unit's journal (other lines, e.g. from ExecStartPre=, skipped). */
async function logLines(c: SystemdContainer): Promise<Array<Record<string, unknown>>> {
  return (await c.journal(UNIT)).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function countLogged(c: SystemdContainer, msg: string): Promise<number> {
  return (await logLines(c)).filter((l) => l['msg'] === msg).length;
}

/** Reload and wait for the daemon's verdict on the file: one more log line with this message. */
async function reloadAndWait(c: SystemdContainer, msg: string): Promise<void> {
  const before = await countLogged(c, msg);
  await c.systemctl('reload', UNIT);
  await waitUntil(`"${msg}" in the journal`, 15_000, async () => (await countLogged(c, msg)) > before);
}

/** For a failed stop: the unit's last lines about stopping and the firewall, so the cause is in the report. */
async function stopStory(c: SystemdContainer): Promise<string> {
  const lines = (await c.journal(UNIT)).filter((l) => /stop|firewall|[Ww]atchdog|[Kk]ill|Start|Deactivated/.test(l));
  return `the unit's journal ends:\n${lines.slice(-15).join('\n')}`;
}

async function mainPid(c: SystemdContainer): Promise<number> {
  return Number(await c.property(UNIT, 'MainPID'));
}

/** The fields of /proc/PID/status inside the container. */
async function procStatus(c: SystemdContainer, pid: number): Promise<Map<string, string>> {
  const text = (await c.exec('cat', [`/proc/${pid}/status`])).stdout;
  return new Map(
    text
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
  );
}

/** The package with a higher version and nothing else changed: what an upgrade installs. */
async function repackWithVersion(deb: string, version: string, outDir: string): Promise<string> {
  const tree = mkdtempSync(join(tmpdir(), 'mm-upgrade-'));
  try {
    await run('dpkg-deb', ['-R', deb, tree]);
    const control = join(tree, 'DEBIAN', 'control');
    const text = readFileSync(control, 'utf8');
    await run('sh', ['-c', 'cat > "$1"', 'write', control], text.replace(/^Version: .*$/m, `Version: ${version}`));
    const out = join(outDir, `mssmangler_${version}_upgrade.deb`);
    await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', tree, out]);
    return out;
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

test('the Debian package under a real systemd: install, run, reload, upgrade, watchdog, stop, purge', { timeout: 300_000 }, async (t) => {
  requireRoot();
  const began = Date.now();
  for (const tool of ['systemd-nspawn', 'dpkg-deb', 'unshare', 'nsenter']) {
    assert.equal(spawnSync('sh', ['-c', `command -v ${tool}`]).status, 0, `${tool} is missing: run bash scripts/install-system-deps.sh`);
  }
  const unitText = readFileSync(join(ROOT, 'systemd', UNIT), 'utf8');
  const firewall = firewallManagement(unitText, readFileSync(join(ROOT, 'systemd', 'config.example.yaml'), 'utf8'));
  t.diagnostic(`the unit keeps the firewall rules by ${firewall.mode} (${firewall.backend})`);

  const packages = mkdtempSync(join(tmpdir(), 'mm-deb-'));
  t.after(() => rmSync(packages, { recursive: true, force: true }));
  const deb = (await run('bash', [join(ROOT, 'scripts', 'package.sh'), packages])).stdout.trim();
  const version = (await run('dpkg-deb', ['-f', deb, 'Version'])).stdout.trim();
  const upgradeVersion = `${version}+upgrade1`;
  const upgradeDeb = await repackWithVersion(deb, upgradeVersion, packages);

  const c = await SystemdContainer.boot({ tag: 'sysd', bindReadOnly: { [packages]: '/mnt/packages' } });
  t.after(() => c.destroy());
  t.diagnostic(`boot to basic.target: ${c.bootMs} ms`);
  const inside = (file: string): string => `/mnt/packages/${file.slice(packages.length + 1)}`;

  await t.test('dpkg -i installs it (dependencies met here) and does not start or enable it', async () => {
    await c.exec('dpkg', ['-i', inside(deb)]);
    assert.equal((await c.execStatus('systemctl', ['is-enabled', UNIT])).stdout.trim(), 'disabled');
    assert.equal((await c.execStatus('systemctl', ['is-active', UNIT])).stdout.trim(), 'inactive');
    assert.equal((await c.exec('mssmangler', ['--version'])).stdout.trim(), version.replace(/-[^-]+$/, ''));
    await c.exec('mssmangler', ['check-config', CONFIG]);
  });

  await buildPeer(c);

  let pid = 0;
  await t.test('systemctl enable --now returns once the daemon said READY=1', async () => {
    const started = Date.now();
    await c.systemctl('enable', '--now', UNIT);
    t.diagnostic(`systemctl enable --now: ${Date.now() - started} ms`);
    assert.equal(await c.property(UNIT, 'ActiveState'), 'active');
    assert.equal(await c.property(UNIT, 'SubState'), 'running');
    // Only the daemon sets a status text, with its notification after binding the queue.
    assert.match(await c.property(UNIT, 'StatusText'), /queue 0 bound/);
    pid = await mainPid(c);
    assert.ok(pid > 1);
  });

  await t.test('the daemon runs unprivileged with CAP_NET_ADMIN only, no new privileges, seccomp, read-only root', async () => {
    const s = await procStatus(c, pid);
    const uids = s.get('Uid')!.split(/\s+/).map(Number);
    assert.equal(uids.length, 4);
    for (const uid of uids) assert.ok(uid >= 61184 && uid <= 65519, `DynamicUser= allocates from 61184-65519, got uid ${uid}`);
    for (const set of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb']) assert.equal(s.get(set), CAP_NET_ADMIN_ONLY, `${set} ${s.get(set)}`);
    assert.equal(s.get('NoNewPrivs'), '1');
    assert.equal(s.get('Seccomp'), '2', 'SystemCallFilter= installs a seccomp filter (mode 2)');
    // ProtectSystem=strict: the root the daemon sees is mounted read-only in its own mount namespace.
    const mountinfo = (await c.exec('cat', [`/proc/${pid}/mountinfo`])).stdout.split('\n');
    const root = mountinfo.map((l) => l.split(' ')).find((f) => f[4] === '/');
    assert.ok(root !== undefined && root[5]!.split(',').includes('ro'), `root mount of the daemon: ${root?.join(' ')}`);
    // IPAddressDeny= needs BPF in the container's cgroup; systemd says so when it cannot apply it.
    const boot = (await c.exec('journalctl', ['--no-pager', '-b', '-o', 'cat'])).stdout;
    assert.doesNotMatch(boot, /does not support BPF\/cgroup firewalling/);
  });

  await t.test('the queue rules are in place while it runs', async () => {
    assert.ok((await queueRules(c, firewall.backend)).length > 0, "no mssmangler queue rule in the container's firewall");
  });

  await t.test('a real connection through OUTPUT is clamped by the shipped example config', async () => {
    assert.equal(await synMssAtPeer(c), SHIPPED_MSS);
  });

  const shipped = (await c.readFile(CONFIG)).toString('utf8');
  assert.ok(shipped.includes(`mss: ${SHIPPED_MSS}`), 'the example config no longer sets vpn-clamp to 1380: update this test');
  const edited = shipped.replace(`mss: ${SHIPPED_MSS}`, `mss: ${EDITED_MSS}`);

  await t.test('systemctl reload re-reads an edited config in the same process', async () => {
    await c.writeFile(CONFIG, edited);
    await reloadAndWait(c, 'reloaded');
    assert.equal(await mainPid(c), pid);
    assert.equal(await synMssAtPeer(c), EDITED_MSS);
  });

  await t.test('a bad config is refused on reload and the running one stays in force', async () => {
    await c.writeFile(CONFIG, shipped.replace(`mss: ${SHIPPED_MSS}`, 'mss: 70000'));
    await reloadAndWait(c, 'reload rejected, the previous configuration stays in force');
    assert.equal(await c.property(UNIT, 'ActiveState'), 'active');
    assert.equal(await mainPid(c), pid);
    assert.equal(await synMssAtPeer(c), EDITED_MSS);
    await c.writeFile(CONFIG, edited);
    await reloadAndWait(c, 'reloaded');
  });

  await t.test('an upgrade restarts the service and keeps the edited config', async () => {
    await c.exec('dpkg', ['-i', inside(upgradeDeb)]);
    assert.equal((await c.exec('dpkg-query', ['-W', '-f', '${Version}', 'mssmangler'])).stdout, upgradeVersion);
    assert.equal(await c.property(UNIT, 'ActiveState'), 'active');
    const after = await mainPid(c);
    assert.notEqual(after, pid, 'postinst did not restart the running service');
    pid = after;
    assert.equal((await c.readFile(CONFIG)).toString('utf8'), edited);
    assert.equal(
      (await c.execStatus('test', ['-e', `${CONFIG}.dpkg-dist`])).code,
      1,
      'dpkg should keep the edited conffile without a .dpkg-dist copy',
    );
    assert.equal((await c.execStatus('systemctl', ['is-enabled', UNIT])).stdout.trim(), 'enabled');
    assert.equal(await synMssAtPeer(c), EDITED_MSS);
  });

  await t.test('watchdog pings arrive, and a hung daemon is killed and restarted by the watchdog', async () => {
    const dropIn = `/etc/systemd/system/${UNIT}.d/test-watchdog.conf`;
    await c.exec('mkdir', ['-p', `/etc/systemd/system/${UNIT}.d`]);
    await c.writeFile(dropIn, `[Service]\nWatchdogSec=${TEST_WATCHDOG_SEC}s\n`);
    await c.systemctl('daemon-reload');
    await c.systemctl('restart', UNIT);
    pid = await mainPid(c);
    // The daemon pings every WatchdogSec/2; systemd stamps each ping. Over 1.5 watchdog periods the stamp
    // moves on, and the service stays up (without pings it would be killed after one period).
    const first = BigInt(await c.property(UNIT, 'WatchdogTimestampMonotonic'));
    await sleep(TEST_WATCHDOG_SEC * 1500);
    const second = BigInt(await c.property(UNIT, 'WatchdogTimestampMonotonic'));
    assert.ok(first > 0n && second > first, `watchdog timestamp ${first} -> ${second}`);
    assert.equal(await mainPid(c), pid);

    const stopped = Date.now();
    await c.exec('kill', ['-STOP', String(pid)]);
    await waitUntil('a new daemon after the watchdog fired', 60_000, async () => {
      const now = await mainPid(c);
      return now !== 0 && now !== pid && (await c.property(UNIT, 'ActiveState')) === 'active';
    });
    t.diagnostic(`SIGSTOP to a new READY daemon: ${Date.now() - stopped} ms (WatchdogSec=${TEST_WATCHDOG_SEC}s, RestartSec from the unit)`);
    assert.ok(
      (await c.journal(UNIT)).some((l) => /[Ww]atchdog timeout/.test(l)),
      'no watchdog timeout in the journal',
    );
    assert.equal(await c.property(UNIT, 'NRestarts'), '1');
    pid = await mainPid(c);
    assert.equal(await synMssAtPeer(c), EDITED_MSS);
    await c.exec('rm', ['-r', `/etc/systemd/system/${UNIT}.d`]);
    await c.systemctl('daemon-reload');
  });

  await t.test('systemctl stop removes the queue rules', async () => {
    await c.systemctl('stop', UNIT);
    assert.equal(await c.property(UNIT, 'ActiveState'), 'inactive');
    assert.deepEqual(await queueRules(c, firewall.backend), [], await stopStory(c));
  });

  await t.test("the journal holds the daemon's JSON log lines", async () => {
    const lines = await logLines(c);
    const messages = new Set(lines.map((l) => l['msg']));
    for (const msg of ['queue bound', 'started', 'reloaded', 'reload rejected, the previous configuration stays in force']) {
      assert.ok(messages.has(msg), `no "${msg}" line in the journal`);
    }
    for (const line of lines) {
      assert.equal(typeof line['level'], 'string');
      assert.ok(!Number.isNaN(Date.parse(String(line['time']))), `bad time in ${JSON.stringify(line)}`);
    }
  });

  await t.test('dpkg --purge leaves nothing behind', async () => {
    await c.systemctl('start', UNIT);
    const files = (await c.exec('dpkg-query', ['-L', 'mssmangler'])).stdout.split('\n').filter((p) => p.startsWith('/'));
    await c.exec('dpkg', ['--purge', 'mssmangler']);
    assert.equal((await c.execStatus('systemctl', ['is-active', UNIT])).stdout.trim(), 'inactive', 'the service runs on after purge');
    assert.deepEqual(await queueRules(c, firewall.backend), [], `the queue rules outlived the package; ${await stopStory(c)}`);
    // Directories the package shares with others (/usr, /etc) stay; everything of its own goes.
    const own = files.filter((p) => p.includes('mssmangler'));
    const left = (
      await c.exec('sh', ['-c', 'for p; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done; true', 'check', ...own])
    ).stdout.trim();
    assert.equal(left, '', `left after purge:\n${left}`);
    const state = (
      await c.exec('sh', [
        '-c',
        'ls -d /etc/systemd/system/mssmangler* /etc/systemd/system/*/mssmangler* /var/lib/systemd/deb-systemd-helper-*/*mssmangler* /var/lib/systemd/deb-systemd-helper-*/*/mssmangler* 2>/dev/null; true',
      ])
    ).stdout.trim();
    assert.equal(state, '', `enablement state left after purge:\n${state}`);
    assert.equal((await c.execStatus('dpkg-query', ['-W', 'mssmangler'])).code, 1);
  });

  await t.test('the container powers off and leaves no process, cgroup or directory behind', async () => {
    await c.destroy();
    assert.deepEqual(c.cgroupPids(), []);
    assert.deepEqual(c.leftovers(), []);
    assert.equal(readdirSync(tmpdir()).filter((e) => e.startsWith(c.name)).length, 0);
  });

  t.diagnostic(`whole test: ${Date.now() - began} ms`);
});
