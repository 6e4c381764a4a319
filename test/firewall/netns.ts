// A throwaway network namespace per test: unique by pid and counter, deleted in t.after even on failure.
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

let counter = 0;

export function namespace(t: TestContext, label: string): string {
  const name = `mssm-${label}-${process.pid}-${counter++}`;
  execFileSync('ip', ['netns', 'add', name]);
  t.after(() => {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  });
  return name;
}

/** Runs a command inside the namespace; returns stdout, throws on a non-zero exit. */
export function inNamespace(name: string, file: string, args: readonly string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', name, file, ...args], {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}
