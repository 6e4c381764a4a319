// The Debian package (scripts/package.sh, `npm run package`): built here, unprivileged, then read back:
// file name and control fields, the files and their owners and modes, the conffile, the copyright and
// changelog, the maintainer scripts' decisions, lintian, and the packaged CLI run from the extracted
// tree (which proves the shipped node_modules and addon are enough). The lab test
// test/systemd/systemd.lab.test.ts installs the same package under a real systemd.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const LIB = 'usr/lib/mssmangler';

function sh(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  assert.equal(r.error, undefined, `${command} could not run (bash scripts/install-system-deps.sh installs the packaging tools)`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = sh(command, args, options);
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

let work = '';
let deb = '';
let tree = '';
let control = '';

before(() => {
  work = mkdtempSync(join(tmpdir(), 'mm-package-'));
  deb = ok('bash', [join(ROOT, 'scripts', 'package.sh'), join(work, 'out')]).trim();
  tree = join(work, 'tree');
  control = join(work, 'control');
  ok('dpkg-deb', ['-x', deb, tree]);
  ok('dpkg-deb', ['-e', deb, control]);
});
after(() => rmSync(work, { recursive: true, force: true }));

function field(name: string): string {
  return ok('dpkg-deb', ['-f', deb, name]).trim();
}

test('the file is dist-style mssmangler_VERSION_ARCH.deb, VERSION = package.json version plus a Debian revision', () => {
  const version = field('Version');
  assert.match(version, new RegExp(`^${pkg.version.replaceAll('.', '\\.')}-\\d+$`));
  const arch = ok('dpkg', ['--print-architecture']).trim();
  assert.equal(deb, join(work, 'out', `mssmangler_${version}_${arch}.deb`));
  assert.equal(field('Architecture'), arch, 'the addon is native code: the package is per architecture');
  assert.equal(field('Package'), 'mssmangler');
});

test('Depends: Node >= 20, a firewall tool, and the libraries the addon links', () => {
  const depends = field('Depends').split(/,\s*/);
  assert.ok(depends.includes('nodejs (>= 20)'), depends.join(', '));
  assert.ok(depends.includes('iptables | nftables'), depends.join(', '));
  assert.ok(
    depends.some((d) => d.startsWith('libc6 (>= ')),
    'dpkg-shlibdeps found no libc6 dependency',
  );
  assert.ok(
    depends.some((d) => d.startsWith('libstdc++6 (>= ')),
    'dpkg-shlibdeps found no libstdc++6 dependency',
  );
  assert.match(field('Installed-Size'), /^\d+$/);
  assert.equal(field('Section'), 'net');
});

test('every file is owned by root, directories 0755, files 0644, the command 0755', () => {
  const listing = ok('dpkg-deb', ['-c', deb]).trim().split('\n');
  for (const line of listing) {
    const [mode, owner, , , , path] = line.split(/\s+/);
    assert.equal(owner, 'root/root', line);
    if (mode!.startsWith('d')) assert.equal(mode, 'drwxr-xr-x', line);
    else if (path === './usr/bin/mssmangler' || path!.endsWith('/cli/main.js')) assert.equal(mode, '-rwxr-xr-x', line);
  }
  const modes = listing.filter((l) => l.startsWith('-')).map((l) => l.split(/\s+/)[0]);
  assert.ok(modes.every((m) => m === '-rw-r--r--' || m === '-rwxr-xr-x'));
});

test('the layout: JavaScript, addon, unit, conffile and docs where docs/packaging.md says', () => {
  const same = (packaged: string, source: string): void =>
    assert.ok(readFileSync(join(tree, packaged)).equals(readFileSync(join(ROOT, source))), `${packaged} differs from ${source}`);
  same('usr/lib/systemd/system/mssmangler.service', 'systemd/mssmangler.service');
  same('etc/mssmangler/config.yaml', 'systemd/config.example.yaml');
  same(`${LIB}/dist/src/cli/main.js`, 'dist/src/cli/main.js');
  same(`${LIB}/dist/src/daemon/daemon.js`, 'dist/src/daemon/daemon.js');
  for (const addon of ['nfqueue_bindings.node', 'sd_notify.node'])
    assert.ok(existsSync(join(tree, LIB, 'addon/build/Release', addon)), addon);
  assert.equal(JSON.parse(readFileSync(join(tree, LIB, 'package.json'), 'utf8')).type, 'module');
  // Built code only: no tests, benchmarks, TypeScript sources or source maps.
  assert.deepEqual(readdirSync(join(tree, LIB, 'dist')), ['src']);
  assert.equal(ok('find', [join(tree, LIB), '-name', '*.map', '-o', '-name', '*.ts']).trim(), '');
  // /usr/bin/mssmangler runs the packaged CLI under the nodejs the package depends on.
  const wrapper = readFileSync(join(tree, 'usr/bin/mssmangler'), 'utf8');
  const [, node, cli] = /^exec (\S+) (\S+) "\$@"$/m.exec(wrapper) ?? [];
  assert.equal(node, '/usr/bin/node');
  assert.ok(existsSync(join(tree, cli!)), `the wrapper runs ${cli}, which the package does not contain`);
});

test('node_modules holds the production dependencies and no development ones', () => {
  const modules = join(tree, LIB, 'node_modules');
  for (const name of Object.keys(pkg.dependencies)) {
    if (name === 'node-addon-api') continue; // headers for compiling the addon, not loaded at run time
    assert.ok(existsSync(join(modules, name, 'package.json')), `dependency ${name} is missing`);
  }
  for (const name of [...Object.keys(pkg.devDependencies), 'node-addon-api']) {
    assert.ok(!existsSync(join(modules, name)), `${name} is not needed at run time`);
  }
});

test('the packaged CLI runs from the extracted tree with only what the package ships', () => {
  const cli = join(tree, LIB, 'dist/src/cli/main.js');
  // cwd and an empty NODE_PATH make sure nothing resolves from the repository's own node_modules.
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', NODE_PATH: '' };
  assert.equal(ok(process.execPath, [cli, '--version'], { cwd: work, env }).trim(), pkg.version);
  assert.match(ok(process.execPath, [cli, 'check-config', join(tree, 'etc/mssmangler/config.yaml')], { cwd: work, env }), /OK/i);
  for (const addon of ['nfqueue_bindings.node', 'sd_notify.node']) {
    ok(process.execPath, ['-e', `require(${JSON.stringify(join(tree, LIB, 'addon/build/Release', addon))})`], { cwd: work, env });
  }
});

test('man pages from man/ are installed gzipped in their sections', () => {
  const pages = existsSync(join(ROOT, 'man')) ? readdirSync(join(ROOT, 'man')).filter((f) => /\.[1-8]$/.test(f)) : [];
  for (const page of pages) {
    const packaged = join(tree, 'usr/share/man', `man${page.slice(-1)}`, `${page}.gz`);
    assert.ok(existsSync(packaged), `man/${page} is not in the package`);
    assert.ok(gunzipSync(readFileSync(packaged)).equals(readFileSync(join(ROOT, 'man', page))));
  }
  const shipped = existsSync(join(tree, 'usr/share/man'))
    ? ok('find', [join(tree, 'usr/share/man'), '-type', 'f'])
        .trim()
        .split('\n')
        .filter((l) => l !== '')
    : [];
  assert.equal(shipped.length, pages.length);
});

test("copyright is machine-readable (DEP-5): mssmangler under package.json's license, each bundled module with its own", () => {
  const text = readFileSync(join(tree, 'usr/share/doc/mssmangler/copyright'), 'utf8');
  const paragraphs = text.trim().split(/\n\n/);
  assert.equal(paragraphs[0]!.split('\n')[0], 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/');
  assert.match(paragraphs[1]!, new RegExp(`^Files: \\*\\nCopyright: .+\\nLicense: ${pkg.license}$`));
  const files = paragraphs.filter((p) => p.startsWith('Files: ')).map((p) => p.split('\n')[0]!.slice('Files: '.length));
  for (const module of ['yaml', 'yargs', 'winston', 'prom-client']) assert.ok(files.includes(`${LIB}/node_modules/${module}/*`), module);
  // Every license named in a Files paragraph has its text in a stand-alone License paragraph.
  const named = new Set(paragraphs.filter((p) => p.startsWith('Files: ')).map((p) => /^License: (.+)$/m.exec(p)![1]!));
  const standalone = new Set(paragraphs.filter((p) => p.startsWith('License: ')).map((p) => p.split('\n')[0]!.slice('License: '.length)));
  assert.deepEqual([...named].sort(), [...standalone].sort());
});

test('changelog.Debian.gz names the package version', () => {
  const changelog = gunzipSync(readFileSync(join(tree, 'usr/share/doc/mssmangler/changelog.Debian.gz'))).toString('utf8');
  assert.equal(changelog.split('\n')[0], `mssmangler (${field('Version')}) unstable; urgency=medium`);
});

test('/etc/mssmangler/config.yaml is the only conffile', () => {
  assert.equal(readFileSync(join(control, 'conffiles'), 'utf8'), '/etc/mssmangler/config.yaml\n');
});

/**
 * Runs a maintainer script with recording stand-ins for deb-systemd-helper, deb-systemd-invoke and
 * systemctl, and returns the actions it asked of them (the helper's yes/no queries left out). The script's fixed paths (/run/systemd/system: "is
 * systemd running", /usr/bin/deb-systemd-helper, /etc/mssmangler) point into a scratch directory.
 * `state` decides the helper's answers: was the unit handled by a previous install, was it enabled.
 */
function maintainerCalls(
  script: string,
  args: string[],
  state: { installedBefore: boolean; enabled: boolean; systemdRunning?: boolean },
): string[] {
  const dir = mkdtempSync(join(work, 'script-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'calls');
  const stub = (name: string, body = ''): void => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${body}exit 0\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub(
    'deb-systemd-helper',
    [
      `[ "$1" = debian-installed ] && exit ${state.installedBefore ? 0 : 1}`,
      `[ "$1" = --quiet ] && [ "$2" = was-enabled ] && exit ${state.enabled ? 0 : 1}`,
      '',
    ].join('\n'),
  );
  stub('deb-systemd-invoke');
  stub('systemctl');
  const running = join(dir, 'run-systemd-system');
  if (state.systemdRunning ?? true) mkdirSync(running);
  const text = readFileSync(join(control, script), 'utf8')
    .replaceAll('/run/systemd/system', running)
    .replaceAll('/usr/bin/deb-systemd-helper', join(bin, 'deb-systemd-helper'))
    .replaceAll('/etc/mssmangler', join(dir, 'etc-mssmangler'));
  writeFileSync(join(dir, script), text);
  const r = sh('sh', ['-e', join(dir, script), ...args], { env: { PATH: `${bin}:/usr/bin:/bin` } });
  assert.equal(r.status, 0, `${script} ${args.join(' ')} failed: ${r.stderr}`);
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  return calls.filter((c) => !/ (debian-installed|--quiet was-enabled) /.test(c));
}

test('maintainer scripts are valid POSIX sh', () => {
  for (const script of ['postinst', 'prerm', 'postrm']) {
    assert.ok(existsSync(join(control, script)), script);
    ok('sh', ['-n', join(control, script)]);
  }
});

test('postinst on first install: records the unit, neither enables nor starts it', () => {
  const calls = maintainerCalls('postinst', ['configure', ''], { installedBefore: false, enabled: false });
  assert.deepEqual(calls, ['deb-systemd-helper update-state mssmangler.service', 'systemctl --system daemon-reload']);
});

test('postinst on upgrade: keeps an enabled unit enabled and restarts it if it runs', () => {
  const calls = maintainerCalls('postinst', ['configure', '0.0.9-1'], { installedBefore: true, enabled: true });
  assert.deepEqual(calls, [
    'deb-systemd-helper unmask mssmangler.service',
    'deb-systemd-helper enable mssmangler.service',
    'deb-systemd-helper update-state mssmangler.service',
    'systemctl --system daemon-reload',
    'deb-systemd-invoke try-restart mssmangler.service',
  ]);
  // Disabled by the operator: stays disabled; try-restart starts nothing that is stopped.
  const disabled = maintainerCalls('postinst', ['configure', '0.0.9-1'], { installedBefore: true, enabled: false });
  assert.ok(!disabled.includes('deb-systemd-helper enable mssmangler.service'));
  // Without systemd running (a chroot, an image build): no systemctl at all.
  const chroot = maintainerCalls('postinst', ['configure', '0.0.9-1'], { installedBefore: true, enabled: true, systemdRunning: false });
  assert.ok(
    chroot.every((c) => c.startsWith('deb-systemd-helper ')),
    chroot.join('\n'),
  );
});

test('prerm stops the service on removal (its stop path removes the rules), not on upgrade', () => {
  assert.deepEqual(maintainerCalls('prerm', ['remove'], { installedBefore: true, enabled: true }), [
    'deb-systemd-invoke stop mssmangler.service',
  ]);
  assert.deepEqual(maintainerCalls('prerm', ['upgrade', '0.2.0-1'], { installedBefore: true, enabled: true }), []);
});

test('postrm masks on remove and forgets the unit on purge', () => {
  assert.deepEqual(maintainerCalls('postrm', ['remove'], { installedBefore: true, enabled: true }), [
    'deb-systemd-helper mask mssmangler.service',
    'systemctl --system daemon-reload',
  ]);
  assert.deepEqual(maintainerCalls('postrm', ['purge'], { installedBefore: true, enabled: true }), [
    'deb-systemd-helper purge mssmangler.service',
    'deb-systemd-helper unmask mssmangler.service',
    'systemctl --system daemon-reload',
  ]);
});

// lintian reads every file of the package: about 15 s on a quiet machine, over 100 s on a loaded one.
test('lintian: no errors, no warnings, no stale overrides', { timeout: 300_000 }, () => {
  const r = sh('lintian', ['--info', '--show-overrides', deb]);
  const lines = `${r.stdout}${r.stderr}`.split('\n');
  const complaints = lines.filter((l) => /^[EW]: /.test(l) || /unused-override|mismatched-override/.test(l));
  assert.deepEqual(complaints, []);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
