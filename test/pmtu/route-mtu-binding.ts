// Lab tests need the RouteMtu addon, part of the main module (addon/build/Release/nfqueue_bindings.node,
// built by npm ci): fail early with the loader's message when it is missing.
import { loadRouteMtuNative } from '../../src/pmtu/native.js';

export function ensureRouteMtuBinding(): void {
  loadRouteMtuNative();
}
