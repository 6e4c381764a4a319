// The man pages cannot drift from the code: both pass `mandoc -Tlint`, every command and flag the CLI
// offers appears in mssmangler(8), and every key the configuration parser accepts appears in
// mssmangler.yaml(5). The flags are read from `--help` and from src/cli/options.ts, the keys from the
// parser itself (it names every key it knows when it meets one it does not), so a new flag or key
// fails here until it is documented.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import * as options from '../../src/cli/options.js';
import { parseConfig } from '../../src/config/parse.js';

const ROOT = process.cwd();
const PAGE_8 = join(ROOT, 'man', 'mssmangler.8');
const PAGE_5 = join(ROOT, 'man', 'mssmangler.yaml.5');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** mandoc's messages that depend on the machine, not on the page: which manuals are installed. */
const MACHINE_DEPENDENT = /referenced manual not found|outdated mandoc\.db|mandoc\.db lacks/;

/** The page as a reader sees it, without overstrike: what `man` shows. */
function rendered(page: string): string {
  return execFileSync('mandoc', ['-Tascii', page], { encoding: 'utf8' }).replace(/.\x08/g, '');
}

test('both man pages are clean under mandoc -Tlint (every level, style included)', () => {
  const lint = spawnSync('mandoc', ['-Tlint', '-W', 'style', PAGE_8, PAGE_5], { encoding: 'utf8' });
  assert.equal(lint.error, undefined, 'mandoc runs (scripts/install-system-deps.sh installs it)');
  const messages = `${lint.stdout}${lint.stderr}`.split('\n').filter((line) => line.trim() !== '' && !MACHINE_DEPENDENT.test(line));
  assert.deepEqual(messages, []);
});

/** Commands from `mssmangler --help`, flags from each command's `--help`. */
function cliSurface(): { commands: string[]; flags: Set<string> } {
  const help = (args: string[]): string => execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  const top = help(['--help']);
  const commands = [...top.matchAll(/^ {2}mssmangler ([a-z][a-z-]*)/gm)].map((m) => m[1]!);
  const flags = new Set<string>();
  const collect = (text: string): void => {
    for (const m of text.matchAll(/^ +(?:-[a-z], )?(--[a-z][a-z0-9-]*)/gm)) flags.add(m[1]!);
  };
  collect(top);
  for (const command of commands) collect(help([command, '--help']));
  return { commands, flags };
}

test('mssmangler(8) names every command of --help and every flag of --help and src/cli/options.ts', () => {
  const page = rendered(PAGE_8);
  const { commands, flags } = cliSurface();
  assert.ok(commands.includes('run') && commands.includes('rules'), `commands read from --help: ${commands.join(', ')}`);
  for (const table of Object.values(options)) {
    if (typeof table !== 'object' || table === null || Array.isArray(table)) continue;
    for (const [name, option] of Object.entries(table)) {
      if (typeof option === 'object' && option !== null && 'describe' in option) flags.add(`--${name}`);
    }
  }
  assert.ok(flags.has('--set-mss') && flags.has('--backend'), `flags read: ${[...flags].join(' ')}`);
  const synopsis = page.slice(page.indexOf('SYNOPSIS'), page.indexOf('DESCRIPTION'));
  const missingCommands = commands.filter((c) => !synopsis.includes(`mssmangler ${c}`));
  assert.deepEqual(missingCommands, [], 'commands missing from the SYNOPSIS');
  const missingFlags = [...flags].filter((flag) => !new RegExp(`(^|[\\s\\[|,])${flag}(?![a-z0-9-])`, 'm').test(page));
  assert.deepEqual(missingFlags, [], 'flags missing from mssmangler(8)');
  // Its EXIT STATUS lists every code src/errors.ts can return.
  const exit = page.slice(page.indexOf('EXIT STATUS'), page.indexOf('EXAMPLES'));
  for (const code of ['0', '1', '2', '3', '4', '5']) assert.match(exit, new RegExp(`^ {5}${code}\\s`, 'm'), `exit ${code}`);
});

/** A string no key is within two edits of, so the parser answers with the list of every key it knows. */
const PROBE = 'qqqqqqqqqqqqqqqq';

/** The keys the parser accepts in the mapping at `path`, or null when it is no mapping of keys. */
function keysAt(path: ReadonlyArray<string | number>): string[] | null {
  const root: Record<string, unknown> = { rules: [{ name: 'probe', action: 'strip' }] };
  let parent: Record<string | number, unknown> = root;
  for (const part of path.slice(0, -1)) {
    const next = parent[part];
    if (typeof next !== 'object' || next === null) parent[part] = typeof part === 'number' ? {} : [];
    parent = parent[part] as Record<string | number, unknown>;
  }
  const last = path[path.length - 1];
  if (last === undefined) root[PROBE] = 1;
  else parent[last] = { [PROBE]: 1 };
  const result = parseConfig(stringify(root), 'probe.yaml');
  if (result.ok) return null;
  const at = [...path, PROBE]
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[');
  const problem = result.problems.find((p) => p.path === at && p.message.startsWith(`unknown key "${PROBE}"`));
  if (problem === undefined) return null;
  const known = /known keys: (.*)$/.exec(problem.message);
  assert.ok(known, `the parser lists the keys at ${at}: ${problem.message}`);
  return known[1]!.split(', ');
}

/** Every key path the parser accepts, found by probing each key as a mapping and as a list of mappings. */
function acceptedKeys(): string[][] {
  const out: string[][] = [];
  const walk = (path: Array<string | number>, depth: number): void => {
    const keys = keysAt(path);
    if (keys === null) return;
    for (const key of keys) {
      const at = [...path, key];
      out.push(at.filter((p): p is string => typeof p === 'string'));
      if (depth < 4) {
        walk(at, depth + 1);
        walk([...at, 0], depth + 1);
      }
    }
  };
  walk([], 0);
  return out;
}

test('mssmangler.yaml(5) documents every key the configuration parser accepts', () => {
  const source = readFileSync(PAGE_5, 'utf8');
  const keys = acceptedKeys();
  const names = keys.map((k) => k.join('.'));
  // The probe found the nested sections, not only the top level.
  for (const expected of ['queue', 'metrics.listen', 'rules.match.outInterface', 'rules.select.perFlow']) {
    assert.ok(names.includes(expected), `the parser's keys include ${expected}: ${names.join(' ')}`);
  }
  const missing = keys.filter((k) => !new RegExp(`(^|\\s)Ic ${k[k.length - 1]}(\\s|$)`, 'm').test(source)).map((k) => k.join('.'));
  assert.deepEqual(missing, [], 'configuration keys missing from mssmangler.yaml(5)');
});

test('the YAML examples of mssmangler.yaml(5) parse, apart from keys of features not in this build', () => {
  const page = rendered(PAGE_5);
  const examples = page.slice(page.indexOf('EXAMPLES'), page.indexOf('SEE ALSO'));
  const blocks = examples.split(/\n(?=\s{5}\S)/).filter((b) => /^\s+rules:$/m.test(b));
  assert.ok(blocks.length >= 2, `${blocks.length} examples`);
  const topKeys = new Set(keysAt([]) ?? []);
  for (const block of blocks) {
    const literal = block.split('\n').filter((l) => /^ {7}/.test(l));
    const indent = Math.min(...literal.map((l) => /^ */.exec(l)![0].length));
    const lines = literal.map((l) => l.slice(indent));
    // A section this build's parser does not know yet is left out rather than failing the example.
    const kept: string[] = [];
    let skipping = false;
    for (const line of lines) {
      const top = /^([A-Za-z]+):/.exec(line);
      if (top !== null) skipping = !topKeys.has(top[1]!);
      if (!skipping) kept.push(line);
    }
    const result = parseConfig(kept.join('\n'), 'mssmangler.yaml.5');
    assert.ok(result.ok, result.ok ? '' : result.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  }
});
