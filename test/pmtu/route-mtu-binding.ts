// Lab tests need the RouteMtu addon: the main module once it includes route_mtu.cc, else the
// standalone test module, built here on first use (npm ci builds only the main module).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadRouteMtuNative } from '../../src/pmtu/native.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function ensureRouteMtuBinding(): void {
  try {
    loadRouteMtuNative();
    return;
  } catch {
    // not built yet
  }
  execFileSync('npm', ['run', '--silent', 'build:route-mtu-test'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  loadRouteMtuNative();
}
