// The base images docker/Dockerfile names (node:20-bookworm, node:20-bookworm-slim), made on this
// machine because no image registry is reachable: a bookworm root file system from the Debian mirror
// (mmdebstrap), `docker import`ed, plus the machine's own Node 20 and a user `node`
// (test/docker/node-base.Dockerfile). The build base also carries an npm cache holding every package
// of the lockfile, so the Dockerfile's `npm ci` runs offline and unchanged.
//
// mmdebstrap takes about a minute per root file system, so the tarballs are kept in CACHE_DIR (outside
// the repository) for the day they were made; a fresh machine makes them on the first run.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../lab/run.js';
import { LOW_PRIORITY, type DockerEngine } from './engine.js';

export const CACHE_DIR = '/var/cache/mssmangler-test/docker';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const NODE_BASE_DOCKERFILE = join(repo, 'test', 'docker', 'node-base.Dockerfile');

/** What the build stage needs beyond minbase: node-gyp's python3, make and g++. */
const BUILD_PACKAGES = ['python3', 'make', 'g++'];

/** As Debian's slim images: no manuals, documentation (copyright kept) or translations; the setting
 * stays in the image, so the Dockerfile's apt-get install obeys it too. */
const SLIM_DPKG_OPTIONS = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/lintian/*',
];

/** As Debian's images (their apt.conf.d/docker-clean): apt keeps no package caches, so a Dockerfile's
 * `apt-get update && apt-get install` leaves only what it installed. */
const SLIM_APT_OPTIONS = [
  'Dir::Cache::pkgcache ""',
  'Dir::Cache::srcpkgcache ""',
  'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; }',
  'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; }',
];

type Variant = 'build' | 'slim';

export interface BaseImageTimings {
  /** Seconds mmdebstrap took (both root file systems, made in parallel); 0 when both came from the cache. */
  rootfsSeconds: number;
  /** Seconds to import the root file systems and add Node, the user and the npm cache. */
  importSeconds: number;
}

/**
 * Makes node:20-bookworm and node:20-bookworm-slim in the engine. workDir is a scratch directory the
 * caller removes.
 */
export async function makeBaseImages(engine: DockerEngine, workDir: string): Promise<BaseImageTimings> {
  requireNode20();
  const started = Date.now();
  const [build, slim] = await Promise.all([bookwormRootfs('build'), bookwormRootfs('slim')]);
  const rootfsSeconds = build.made || slim.made ? (Date.now() - started) / 1000 : 0;

  const importStarted = Date.now();
  const context = join(workDir, 'node-base');
  copyMachineNode(join(context, 'node'));
  await fillNpmCache(join(workDir, 'npm-project'), join(context, 'npm-cache'));
  await engine.docker(['import', build.path, 'mssmangler-test/bookworm-build']);
  await engine.docker(['import', slim.path, 'mssmangler-test/bookworm-slim']);
  await buildNodeBase(engine, context, 'mssmangler-test/bookworm-build', 'node-offline-npm', 'node:20-bookworm');
  await buildNodeBase(engine, context, 'mssmangler-test/bookworm-slim', 'node', 'node:20-bookworm-slim');
  return { rootfsSeconds, importSeconds: (Date.now() - importStarted) / 1000 };
}

function requireNode20(): void {
  const major = process.versions.node.split('.')[0];
  if (major !== '20') {
    throw new Error(
      `the Docker test copies this machine's Node into stand-ins for node:20 images, but it runs Node ${process.versions.node}: run it with Node 20`,
    );
  }
}

async function buildNodeBase(engine: DockerEngine, context: string, debianImage: string, target: string, tag: string): Promise<void> {
  await engine.docker([
    'build',
    '--quiet',
    '--network',
    'none',
    '-f',
    NODE_BASE_DOCKERFILE,
    '--build-arg',
    `DEBIAN_IMAGE=${debianImage}`,
    '--target',
    target,
    '-t',
    tag,
    context,
  ]);
}

/** Today's root file system tarball for a variant: from the cache, or made now (older days' removed). */
async function bookwormRootfs(variant: Variant): Promise<{ path: string; made: boolean }> {
  const mirror = debianMirror();
  const options = [
    '--quiet',
    '--variant=minbase',
    ...SLIM_DPKG_OPTIONS.map((o) => `--dpkgopt=${o}`),
    ...SLIM_APT_OPTIONS.map((o) => `--aptopt=${o}`),
  ];
  if (variant === 'build') options.push(`--include=${BUILD_PACKAGES.join(',')}`);
  const sources = [
    `deb ${mirror.debian} bookworm main`,
    `deb ${mirror.debian} bookworm-updates main`,
    `deb ${mirror.security} bookworm-security main`,
  ];
  // Keyed by the day (the mirror moves on) and by everything that shapes the file system.
  const day = new Date().toISOString().slice(0, 10);
  const recipe = createHash('sha256')
    .update(JSON.stringify([options, sources]))
    .digest('hex')
    .slice(0, 12);
  mkdirSync(CACHE_DIR, { recursive: true });
  const path = join(CACHE_DIR, `bookworm-${variant}-${day}-${recipe}.tar`);
  if (existsSync(path)) return { path, made: false };
  for (const old of readdirSync(CACHE_DIR)) {
    if (old.startsWith(`bookworm-${variant}-`)) rmSync(join(CACHE_DIR, old), { force: true });
  }
  // mmdebstrap picks the output format from the name, so the partial file ends in .tar too.
  const partial = join(CACHE_DIR, `partial-${process.pid}-${variant}.tar`);
  const args = [...options, 'bookworm', partial, ...sources];
  try {
    await run(LOW_PRIORITY[0]!, [...LOW_PRIORITY.slice(1), 'mmdebstrap', ...args]);
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
  return { path, made: true };
}

/**
 * The Debian mirror apt uses on this machine, if it is a plain-http one (the image then reaches it
 * with no certificate of this machine); deb.debian.org otherwise.
 */
export function debianMirror(): { debian: string; security: string } {
  const found = { debian: 'http://deb.debian.org/debian', security: 'http://deb.debian.org/debian-security' };
  for (const [uri, suites] of aptSources()) {
    if (!uri.startsWith('http://')) continue;
    if (suites.includes('bookworm')) found.debian = uri;
    if (suites.includes('bookworm-security')) found.security = uri;
  }
  return found;
}

/** [uri, suites] pairs of the machine's apt sources, one-line and deb822 formats. */
function aptSources(): Array<[string, string[]]> {
  const pairs: Array<[string, string[]]> = [];
  const files = ['/etc/apt/sources.list'];
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d')) files.push(join('/etc/apt/sources.list.d', f));
  }
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const paragraph of text.split(/\n\s*\n/)) {
        const field = (name: string): string[] => new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(paragraph)?.[1]?.trim().split(/\s+/) ?? [];
        if (!field('Types').includes('deb')) continue;
        for (const uri of field('URIs')) pairs.push([uri.replace(/\/$/, ''), field('Suites')]);
      }
    } else if (file.endsWith('.list')) {
      for (const line of text.split('\n')) {
        const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
        if (m) pairs.push([m[1]!.replace(/\/$/, ''), [m[2]!]]);
      }
    }
  }
  return pairs;
}

/**
 * This machine's Node laid out as the official images have it under /usr/local: bin/node, bin/npm,
 * bin/npx, include/node (node-gyp builds the addon against these headers: the Dockerfile sets
 * npm_config_nodedir=/usr/local) and lib/node_modules/npm.
 */
function copyMachineNode(target: string): void {
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  mkdirSync(join(target, 'bin'), { recursive: true });
  cpSync(realpathSync(process.execPath), join(target, 'bin', 'node'));
  cpSync(join(prefix, 'include', 'node'), join(target, 'include', 'node'), { recursive: true });
  cpSync(join(prefix, 'lib', 'node_modules', 'npm'), join(target, 'lib', 'node_modules', 'npm'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(target, 'bin', 'npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(target, 'bin', 'npx'));
}

/** An npm cache holding every package of the repository's lockfile, filled by `npm ci` on this machine. */
async function fillNpmCache(projectDir: string, cacheDir: string): Promise<void> {
  mkdirSync(projectDir, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) cpSync(join(repo, f), join(projectDir, f));
  await run('npm', ['ci', '--prefix', projectDir, '--cache', cacheDir, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline']);
}
