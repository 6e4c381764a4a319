// docker/Dockerfile parsed, with no engine and no root: the stages, the runtime user and entry point, and
// that every COPY from the build context names a path that exists in the repository. The image is built
// and run for real by test/docker/docker.lab.test.ts (hadolint is not packaged for Debian).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfile = readFileSync(join(repo, 'docker', 'Dockerfile'), 'utf8');

interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly stage: number;
}

/** Instructions with continuation lines joined and comments dropped. */
function parse(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    pending += (pending === '' ? '' : ' ') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(pending)!;
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!, stage });
    pending = '';
  }
  assert.equal(pending, '', 'a continuation line runs off the end');
  return out;
}

const instructions = parse(dockerfile);
const froms = instructions.filter((i) => i.op === 'FROM').map((i) => i.args);
const last = froms.length - 1;

test('no syntax directive: BuildKit would fetch the frontend image from a registry, and offline builds fail', () => {
  assert.doesNotMatch(dockerfile, /^#\s*syntax\s*=/im);
});

test('two stages: a node:20-bookworm build stage and a node:20-bookworm-slim runtime', () => {
  assert.deepEqual(froms, ['node:20-bookworm AS build', 'node:20-bookworm-slim AS runtime']);
});

test('the build stage installs with npm ci after copying what the install script needs, compiles, prunes', () => {
  const build = instructions.filter((i) => i.stage === 0);
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const ciAt = build.findIndex((i) => i.op === 'RUN' && i.args.includes('npm ci'));
  assert.ok(ciAt > 0);
  const copiedBeforeCi = build
    .slice(0, ciAt)
    .filter((i) => i.op === 'COPY')
    .map((i) => i.args);
  assert.ok(
    copiedBeforeCi.some((a) => a.includes('package-lock.json')),
    'npm ci needs the lockfile',
  );
  if (pkg.scripts?.['install']?.includes('addon') === true) {
    assert.ok(
      copiedBeforeCi.some((a) => a.startsWith('addon/')),
      'the install script builds addon/: copy it before npm ci',
    );
  }
  const runs = build
    .filter((i) => i.op === 'RUN')
    .map((i) => i.args)
    .join('\n');
  assert.match(runs, /tsc -p tsconfig\.json/);
  assert.match(runs, /npm prune --omit=dev/);
});

test('every COPY from the build context names a file or directory of the repository', () => {
  const copies = instructions.filter((i) => i.op === 'COPY' && !i.args.includes('--from='));
  assert.ok(copies.length >= 3);
  for (const c of copies) {
    const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
    for (const source of parts.slice(0, -1)) {
      assert.ok(existsSync(join(repo, source)), `COPY source ${source} is not in the repository`);
    }
  }
});

test('the runtime copies only build outputs from the build stage, runs as node, enters the CLI', () => {
  const runtime = instructions.filter((i) => i.stage === last);
  const fromBuild = runtime.filter((i) => i.op === 'COPY');
  assert.ok(fromBuild.length > 0);
  for (const c of fromBuild) assert.match(c.args, /^--from=build \/app\//, c.args);
  const sources = fromBuild.map((c) => c.args.split(/\s+/)[1]);
  for (const needed of ['/app/dist/src/', '/app/node_modules/', '/app/package.json', '/app/addon/build/Release/']) {
    assert.ok(sources.includes(needed), `runtime lacks ${needed}`);
  }
  const users = runtime.filter((i) => i.op === 'USER').map((i) => i.args);
  assert.deepEqual(users, ['node']);
  const entry = runtime.find((i) => i.op === 'ENTRYPOINT');
  assert.ok(entry !== undefined);
  const argv = JSON.parse(entry.args) as string[];
  assert.equal(argv[1], '/app/dist/src/cli/main.js');
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(`/app/${pkg.bin['mssmangler']}`, argv[1], 'the entry point is the package bin');
  const cmd = JSON.parse(runtime.find((i) => i.op === 'CMD')!.args) as string[];
  assert.equal(cmd[0], 'run');
  assert.ok(!runtime.some((i) => i.op === 'RUN' && /gcc|g\+\+|build-essential|npm ci/.test(i.args)), 'no toolchain in the runtime');
});

test('the context ignore file keeps host build outputs and node_modules out of the image', () => {
  const ignore = readFileSync(join(repo, 'docker', 'Dockerfile.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim());
  for (const p of ['node_modules', 'dist', 'addon/build', '.git']) assert.ok(ignore.includes(p), p);
});
