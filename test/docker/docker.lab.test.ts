// docker/Dockerfile built by a real Docker engine and the image run as the README says, with no image
// registry and no npm registry in reach of the build: base images made here (base-images.ts), the
// engine private to the test (engine.ts).
//
// Two engine runs share one data-root. The build runs on the machine's network, because the runtime
// stage's apt-get needs the Debian mirror; the image then runs from an engine started inside the lab's
// router namespace, so `--network host` is the router: `rules --apply` installs the NFQUEUE rules there,
// the daemon binds the queue there, and a client->server SYN crossing the router arrives clamped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, LabAddress, LabInterface, requireRoot } from '../lab/lab.js';
import { startCapture } from '../lab/capture.js';
import { jsonLines } from '../lab/daemon.js';
import { kernelWalkMssOffsets, mssAt, tcpChecksumOk, viewSegment } from '../differential/segment-view.js';
import { DockerEngine, LOW_PRIORITY, PRIVATE_MOUNT_POINTS } from './engine.js';
import { run } from '../lab/run.js';
import { makeBaseImages } from './base-images.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const IMAGE = 'mssmangler-test:latest';
const CONTAINER = 'mssmangler-test';
const CLAMP = 1300;
const QUEUE = 7;
const CAP_NET_ADMIN = 1n << 12n;

const CONFIG = `queue: ${QUEUE}
rules:
  - name: docker-clamp
    match: { direction: syn }
    action: set
    mss: ${CLAMP}
`;

const SERVER_SCRIPT = `
const net = require('node:net');
net.createServer((s) => s.end('hello')).listen(8080, '::', () => console.log('listening'));
`;
const CLIENT_SCRIPT = `
const s = require('node:net').connect({ host: process.argv[1], port: 8080 });
let got = '';
s.on('data', (d) => (got += d));
s.on('end', () => console.log(got));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
`;

/** The options the README gives for running the daemon and for applying the rules from the image. */
function runOptions(etc: string): string[] {
  return ['--network', 'host', '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', '-v', `${etc}:/etc/mssmangler:ro`];
}
function rulesOptions(etc: string): string[] {
  return [...runOptions(etc), '--cap-add', 'NET_RAW', '--user', '0'];
}

test('docker/Dockerfile builds offline; the image runs as the README says and clamps a SYN', { timeout: 40 * 60_000 }, async (t) => {
  requireRoot();
  const absentBefore = PRIVATE_MOUNT_POINTS.filter((p) => !existsSync(p));
  const work = mkdtempSync(join(tmpdir(), 'mm-docker-'));
  const engineDir = join(work, 'engine');
  let engine: DockerEngine | undefined;
  let lab: Lab | undefined;
  t.after(async () => {
    await engine?.stop();
    await lab?.destroy();
    // Gigabytes of image layers: at low disk priority, like the engine that wrote them.
    await run(LOW_PRIORITY[0]!, [...LOW_PRIORITY.slice(1), 'rm', '-rf', work]);
  });

  // ---- build, on the machine's network ----
  engine = await DockerEngine.start({ dir: engineDir });
  const bases = await makeBaseImages(engine, work);
  const coldStarted = Date.now();
  const cold = await engine.docker([
    'build',
    '--progress',
    'plain',
    '--network',
    'host',
    '-f',
    join(repo, 'docker', 'Dockerfile'),
    '-t',
    IMAGE,
    repo,
  ]);
  const coldSeconds = (Date.now() - coldStarted) / 1000;
  assert.ok(!/npm ERR|ENOTCACHED/.test(cold.stderr), 'npm ci ran from the cache');

  // Warm: one source file changed. The dependency layer (npm ci, which builds the addon) is reused, as
  // the Dockerfile's ordering promises; only tsc and what follows run again.
  const context = changedSourceContext(join(work, 'context'));
  const warmStarted = Date.now();
  const warm = await engine.docker([
    'build',
    '--progress',
    'plain',
    '--network',
    'host',
    '-f',
    join(context, 'docker', 'Dockerfile'),
    '-t',
    `${IMAGE}-changed`,
    context,
  ]);
  const warmSeconds = (Date.now() - warmStarted) / 1000;
  assert.ok(stepCached(warm.stderr, /RUN npm ci/), 'npm ci was reused after a change under src/');
  assert.ok(!stepCached(warm.stderr, /RUN npx tsc/), 'tsc ran again for the changed source');

  const imageBytes = Number((await engine.docker(['image', 'inspect', '-f', '{{.Size}}', IMAGE])).stdout);
  const slimBytes = Number((await engine.docker(['image', 'inspect', '-f', '{{.Size}}', 'node:20-bookworm-slim'])).stdout);
  t.diagnostic(
    `root file systems (mmdebstrap, ${bases.rootfsSeconds === 0 ? 'cached today' : 'made now'}): ${bases.rootfsSeconds.toFixed(1)} s; ` +
      `import and node layers: ${bases.importSeconds.toFixed(1)} s`,
  );
  t.diagnostic(`docker build, empty layer cache: ${coldSeconds.toFixed(1)} s; after a change under src/: ${warmSeconds.toFixed(1)} s`);
  t.diagnostic(
    `image: ${mb(imageBytes)} MB, of which the Dockerfile's own layers over node:20-bookworm-slim: ${mb(imageBytes - slimBytes)} MB`,
  );
  await engine.stop();
  engine = undefined;

  // ---- run, from an engine inside the router namespace ----
  const runStarted = Date.now();
  lab = await Lab.create({ tag: 'dock' });
  engine = await DockerEngine.start({ dir: engineDir, netns: lab.router });
  const docker = engine;

  // The runtime holds what the Dockerfile test says: build outputs only, no toolchain, no dev deps.
  const listing = (
    await docker.docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--cap-drop',
      'ALL',
      '--entrypoint',
      '/bin/sh',
      IMAGE,
      '-c',
      'ls -A /app; echo --; ls -A /app/dist; echo --; ls -A /app/addon/build/Release; echo --; cd /app/node_modules && ls -d * @*/* 2>/dev/null; echo --; ' +
        'for t in gcc cc g++ make python3 setcap iptables; do command -v $t; done; true',
    ])
  ).stdout
    .split('--\n')
    .map((s) => s.trim().split('\n').filter(Boolean));
  const [app, dist, release, modules, tools] = listing as [string[], string[], string[], string[], string[]];
  assert.deepEqual(app, ['addon', 'dist', 'node_modules', 'package.json']);
  assert.deepEqual(dist, ['src']);
  assert.ok(release.length > 0 && release.every((f) => f.endsWith('.node')), `only built addons in Release: ${release.join(' ')}`);
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  for (const dep of Object.keys(pkg.dependencies)) assert.ok(modules.includes(dep), `production dependency ${dep} is in the image`);
  for (const dev of Object.keys(pkg.devDependencies)) assert.ok(!modules.includes(dev), `dev dependency ${dev} was pruned`);
  assert.deepEqual(tools, ['/usr/sbin/iptables'], 'iptables is there for rules --apply; no compiler, make, python or setcap');

  const etc = join(work, 'etc');
  mkdirSync(etc);
  chmodSync(etc, 0o755);
  writeFileSync(join(etc, 'config.yaml'), CONFIG, { mode: 0o644 });

  // Without NET_ADMIN the kernel refuses to execute the capability-carrying node, as the README says.
  const refused = await docker
    .docker([
      'run',
      '--rm',
      '--network',
      'host',
      '--cap-drop',
      'ALL',
      '-v',
      `${etc}:/etc/mssmangler:ro`,
      IMAGE,
      'check-config',
      '/etc/mssmangler/config.yaml',
    ])
    .then(
      () => undefined,
      (err: Error & { stderr: string }) => err.stderr,
    );
  assert.match(refused ?? 'it started', /operation not permitted/);

  // The rules, once from the image as root, land in the router namespace and nowhere else.
  const hostMangle = execFileSync('iptables', ['-t', 'mangle', '-S'], { encoding: 'utf8' });
  const applied = await docker.docker([
    'run',
    '--rm',
    ...rulesOptions(etc),
    IMAGE,
    'rules',
    '--apply',
    '--config',
    '/etc/mssmangler/config.yaml',
  ]);
  assert.match(applied.stdout, /^iptables: 2 rule\(s\) added/m);
  const routerRules = (await lab.exec('router', 'iptables', ['-t', 'mangle', '-S'])).stdout;
  assert.match(routerRules, new RegExp(`-A FORWARD .*--comment mssmangler -j NFQUEUE --queue-num ${QUEUE} --queue-bypass`));
  assert.equal(execFileSync('iptables', ['-t', 'mangle', '-S'], { encoding: 'utf8' }), hostMangle, "the machine's own rules are untouched");

  await docker.docker(['run', '-d', '--name', CONTAINER, ...runOptions(etc), IMAGE]);
  await waitForLog(docker, 'started');

  // The daemon runs as node with CAP_NET_ADMIN and nothing else, from the file capability.
  const pid = (await docker.docker(['inspect', '-f', '{{.State.Pid}}', CONTAINER])).stdout.trim();
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)![1]!.trim();
  assert.deepEqual(field('Uid').split(/\s+/), ['1000', '1000', '1000', '1000']);
  for (const set of ['CapEff', 'CapPrm', 'CapBnd']) assert.equal(BigInt(`0x${field(set)}`), CAP_NET_ADMIN, set);
  assert.equal(BigInt(`0x${field('CapAmb')}`), 0n);
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /^\/usr\/local\/bin\/mssmangler-node\0\/app\/dist\/src\/cli\/main\.js\0run\0/);

  // A real SYN from the client crosses the router and reaches the server clamped, for both families.
  const server = lab.spawn('server', process.execPath, ['-e', SERVER_SCRIPT]);
  await server.waitFor(/listening/);
  const capture = await startCapture(lab, 'server', LabInterface.server, { filter: 'tcp', direction: 'in' });
  for (const address of [LabAddress.server4, LabAddress.server6]) {
    const { stdout } = await lab.exec('client', process.execPath, ['-e', CLIENT_SCRIPT, address]);
    assert.equal(stdout.trim(), 'hello');
  }
  const syns = (await capture.stop())
    .map((p) => p.ip)
    .filter((ip) => {
      const v = viewSegment(ip);
      return v !== undefined && (ip[v.l4 + 13]! & 0x12) === 0x02;
    });
  assert.deepEqual(syns.map((ip) => viewSegment(ip)!.family).sort(), [4, 6], 'one SYN per family reached the server');
  for (const ip of syns) {
    const v = viewSegment(ip)!;
    assert.deepEqual(
      kernelWalkMssOffsets(ip, v).map((at) => mssAt(ip, at)),
      [CLAMP],
      `IPv${v.family} SYN clamped`,
    );
    assert.ok(tcpChecksumOk(ip, v), `IPv${v.family} checksum right after the rewrite`);
  }

  // SIGTERM through docker stop: a clean exit.
  await docker.docker(['stop', CONTAINER]);
  assert.equal((await docker.docker(['inspect', '-f', '{{.State.ExitCode}}', CONTAINER])).stdout.trim(), '0');
  t.diagnostic(`run phase (lab, engine in the router, six containers, traffic): ${((Date.now() - runStarted) / 1000).toFixed(1)} s`);

  // The engine leaves nothing on the machine: no process, no mount point it had to create.
  await engine.stop();
  engine = undefined;
  for (const p of absentBefore) assert.equal(existsSync(p), false, `${p} was removed`);
});

/** A copy of what the Dockerfile reads from the context, with one source file changed. */
function changedSourceContext(dir: string): string {
  for (const p of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'docker'])
    cpSync(join(repo, p), join(dir, p), { recursive: true });
  cpSync(join(repo, 'addon'), join(dir, 'addon'), {
    recursive: true,
    filter: (source) => !source.startsWith(join(repo, 'addon', 'build')),
  });
  appendFileSync(join(dir, 'src', 'cli', 'main.ts'), '// changed by test/docker/docker.lab.test.ts\n');
  return dir;
}

/** Whether BuildKit's plain progress output shows the step whose text matches as CACHED. */
function stepCached(progress: string, step: RegExp): boolean {
  const line = progress.split('\n').find((l) => /^#\d+ \[/.test(l) && step.test(l));
  assert.ok(line !== undefined, `no step ${step} in the build output`);
  const id = line.split(' ')[0]!;
  return progress.split('\n').some((l) => l === `${id} CACHED`);
}

async function waitForLog(engine: DockerEngine, msg: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { stdout, stderr } = await engine.docker(['logs', CONTAINER]);
    if (jsonLines(`${stdout}\n${stderr}`).some((l) => l['msg'] === msg)) return;
    if (Date.now() > deadline) throw new Error(`the container did not log "${msg}": ${stdout}${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(0);
}
