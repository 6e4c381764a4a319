// A native module for real worker threads in unit tests (threadLauncher's nativeModule): the fake
// queue and route lookup instead of the addon. Each thread gets its own fakes; nothing feeds them
// packets, so a thread started over it binds, reloads and stops like the real one, without root.
import type { NativeBinding } from '../../src/native/contract.js';
import { fakeNative } from './fake-queue.js';

export function loadNative(): Pick<NativeBinding, 'Queue' | 'RouteMtu'> {
  return fakeNative().binding;
}
