// systemd/mssmangler.service: `systemd-analyze verify` and the offline security score. There is no
// systemd as PID 1 here, so the unit is analysed, never started. verify checks that ExecStart= binaries
// exist, and /usr/bin/mssmangler is not installed on a development machine: the test verifies a copy
// whose only difference is that path, pointing at a stub executable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const unitPath = fileURLToPath(new URL('../../../systemd/mssmangler.service', import.meta.url));
const unit = readFileSync(unitPath, 'utf8');

/** Measured 1.5 with systemd 252; docs/deployment.md quotes it. Fails if hardening is lost. */
const EXPOSURE_LIMIT = 2.0;

function stubbedCopy(t: { after: (fn: () => void) => void }, text = unit): string {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stub = join(dir, 'mssmangler');
  writeFileSync(stub, '#!/bin/sh\nexit 0\n');
  chmodSync(stub, 0o755);
  const copy = join(dir, 'mssmangler.service');
  const replaced = text.replaceAll('/usr/bin/mssmangler', stub);
  writeFileSync(copy, replaced);
  return copy;
}

function analyze(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('systemd-analyze', args, { encoding: 'utf8', env: { ...process.env, SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0' } });
  assert.equal(r.error, undefined, 'systemd-analyze must be installed (Debian package systemd)');
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Key=value pairs of the [Service] section, repeated keys collected in order. */
function serviceSettings(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of unit.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s !== null) {
      section = s[1]!;
      continue;
    }
    if (section !== 'Service') continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

test('systemd-analyze verify accepts the unit without a warning', (t) => {
  const r = analyze(['verify', stubbedCopy(t)]);
  assert.equal(r.status, 0, r.out);
  assert.equal(r.out.trim(), '', `verify printed:\n${r.out}`);
});

test('verify is a real check: a misspelt directive and a missing binary are reported', (t) => {
  const typo = analyze(['verify', stubbedCopy(t, unit.replace('NoNewPrivileges=', 'NoNewPrivilege='))]);
  assert.match(typo.out, /Unknown key( name)? 'NoNewPrivilege'/);
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mssmangler.service'), unit);
  const missing = analyze(['verify', join(dir, 'mssmangler.service')]);
  assert.notEqual(missing.status, 0);
  assert.match(missing.out, /\/usr\/bin\/mssmangler is not executable/);
});

test('the unit runs unprivileged with CAP_NET_ADMIN only, notifies, and manages the firewall rules', () => {
  const s = serviceSettings();
  const one = (key: string): string | undefined => s.get(key)?.at(-1);
  assert.equal(one('Type'), 'notify');
  assert.equal(one('NotifyAccess'), 'main');
  assert.match(one('WatchdogSec') ?? '', /^\d+s$/);
  assert.equal(one('AmbientCapabilities'), 'CAP_NET_ADMIN');
  assert.equal(one('CapabilityBoundingSet'), 'CAP_NET_ADMIN');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('DynamicUser'), 'yes');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  // The daemon keeps its firewall rules itself (docs/firewall.md); no root helper outside the sandbox.
  assert.match(one('ExecStart') ?? '', /^\/usr\/bin\/mssmangler run --manage-firewall --config \/etc\/mssmangler\/config\.yaml$/);
  assert.equal(s.get('ExecStartPre'), undefined);
  assert.equal(s.get('ExecStopPost'), undefined);
  // The daemon removes its rules with iptables after SIGTERM: those must not get systemd's SIGTERM too.
  assert.equal(one('KillMode'), 'mixed');
  assert.equal(one('RestrictAddressFamilies'), 'AF_NETLINK AF_UNIX AF_INET AF_INET6');
  assert.equal(s.get('MemoryDenyWriteExecute'), undefined, "V8's JIT needs writable+executable pages");
  assert.equal(s.get('PrivateUsers'), undefined, 'CAP_NET_ADMIN must count in the host network namespace');
  for (const key of [
    'ProtectHome',
    'PrivateTmp',
    'PrivateDevices',
    'ProtectKernelTunables',
    'ProtectKernelModules',
    'ProtectKernelLogs',
    'ProtectControlGroups',
    'ProtectClock',
    'ProtectHostname',
    'RestrictNamespaces',
    'LockPersonality',
    'RestrictRealtime',
    'RestrictSUIDSGID',
  ]) {
    assert.equal(one(key), 'yes', key);
  }
  assert.equal(one('SystemCallArchitectures'), 'native');
  assert.equal(s.get('SystemCallFilter')?.[0], '@system-service');
});

test(`systemd-analyze security --offline=true scores the unit at most ${EXPOSURE_LIMIT}`, (t) => {
  const r = analyze(['security', '--offline=true', '--no-pager', stubbedCopy(t)]);
  const m = /Overall exposure level for mssmangler\.service: (\d+(?:\.\d+)?)/.exec(r.out);
  assert.ok(m !== null, r.out);
  const score = Number(m[1]);
  t.diagnostic(`exposure ${score}`);
  assert.ok(score <= EXPOSURE_LIMIT, `exposure ${score} > ${EXPOSURE_LIMIT}:\n${r.out}`);
});
