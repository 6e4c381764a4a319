// The two ways the deployment gives an unprivileged daemon CAP_NET_ADMIN, reproduced with setpriv since
// neither systemd (as PID 1) nor a Docker engine runs here:
// - systemd: User= plus AmbientCapabilities=CAP_NET_ADMIN (ambient capabilities survive the exec);
// - Docker: USER node plus a copy of node with the file capability cap_net_admin+ep (Docker gives a
//   non-root user no ambient capabilities), which needs NET_ADMIN in the bounding set (--cap-add).
import assert from 'node:assert/strict';
import { copyFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const CAP_NET_ADMIN = 12n;
const NOBODY = '65534';
const PRINT_CAPS = `const s = require('fs').readFileSync('/proc/self/status', 'utf8');
console.log(JSON.stringify({ uid: process.getuid(), eff: /CapEff:\\s*(\\w+)/.exec(s)[1] }));`;

function run(argv: string[]): { status: number | null; uid?: number; eff?: bigint; stderr: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  assert.equal(r.error, undefined, `${argv[0]} must be installed`);
  if (r.status !== 0) return { status: r.status, stderr: r.stderr };
  const o = JSON.parse(r.stdout) as { uid: number; eff: string };
  return { status: 0, uid: o.uid, eff: BigInt(`0x${o.eff}`), stderr: r.stderr };
}

const hasNetAdmin = (eff: bigint | undefined): boolean => eff !== undefined && ((eff >> CAP_NET_ADMIN) & 1n) === 1n;

test('systemd style: an unprivileged user with an ambient CAP_NET_ADMIN has it, and only it', () => {
  const r = run([
    'setpriv',
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    '--clear-groups',
    '--inh-caps=-all,+net_admin',
    '--ambient-caps=-all,+net_admin',
    '--bounding-set=-all,+net_admin',
    process.execPath,
    '-e',
    PRINT_CAPS,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.uid, 65534);
  assert.equal(r.eff, 1n << CAP_NET_ADMIN);
});

test('without the ambient capability the same user has none', () => {
  const r = run(['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', PRINT_CAPS]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.eff, 0n);
});

test('Docker style: the cap_net_admin+ep copy of node gives user nobody CAP_NET_ADMIN; without it in the bounding set exec fails', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-caps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const node = join(dir, 'mssmangler-node');
  copyFileSync(process.execPath, node);
  chmodSync(node, 0o755);
  const setcap = spawnSync('setcap', ['cap_net_admin+ep', node], { encoding: 'utf8' });
  assert.equal(setcap.error, undefined, 'setcap must be installed (Debian package libcap2-bin)');
  assert.equal(setcap.status, 0, setcap.stderr);
  // --cap-drop ALL --cap-add NET_ADMIN: a bounding set of NET_ADMIN alone.
  const ok = run([
    'setpriv',
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    '--clear-groups',
    '--bounding-set=-all,+net_admin',
    node,
    '-e',
    PRINT_CAPS,
  ]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.uid, 65534);
  assert.ok(hasNetAdmin(ok.eff), `CapEff ${ok.eff?.toString(16)}`);
  // No --cap-add NET_ADMIN: the kernel refuses to run a binary whose file capabilities it cannot grant.
  const refused = run([
    'setpriv',
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    '--clear-groups',
    '--bounding-set=-all',
    node,
    '-e',
    PRINT_CAPS,
  ]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /Operation not permitted/);
});
