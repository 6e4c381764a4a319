// The one loader of our native code: nfqueue_bindings.node (built by `npm install` / `npm run
// build:addon`), checked once against the table layout in contract.ts, and sd_notify.node. Only the
// composition roots (the CLI's run command, the queue worker thread, the benchmark) call these;
// everything else receives what they return.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { layoutMismatches, type NativeBinding, type SdNotifyBinding } from './contract.js';
import { NfQueueError } from '../queue/queue-error.js';

/** The node-gyp output, from dist/src/native/ (compiled) or src/native/ (tests run from source). */
function addonFile(name: string): string {
  const candidates = [`../../addon/build/Release/${name}`, `../../../addon/build/Release/${name}`].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  return candidates.find((p) => existsSync(p)) ?? candidates[1]!;
}

export const ADDON_PATH = addonFile('nfqueue_bindings.node');
export const SD_NOTIFY_ADDON_PATH = addonFile('sd_notify.node');

const require = createRequire(import.meta.url);
let cached: NativeBinding | undefined;

/** The queue and route-MTU addon; throws NfQueueError when it is missing or built from another layout. */
export function loadNative(path: string = ADDON_PATH): NativeBinding {
  if (cached && path === ADDON_PATH) return cached;
  let binding: NativeBinding;
  try {
    binding = require(path) as NativeBinding;
  } catch (err) {
    throw new NfQueueError('NFQ_ERR_ADDON_MISSING', `cannot load nfqueue-bindings from ${path}: run npm run build:addon`, {
      cause: err,
    });
  }
  const bad = layoutMismatches(binding.layout);
  if (bad.length > 0) {
    throw new NfQueueError(
      'NFQ_ERR_ADDON_LAYOUT',
      `nfqueue-bindings layout differs from src/native/contract.ts (rebuild the addon): ${bad.join('; ')}`,
    );
  }
  if (typeof binding.RouteMtu !== 'function') {
    throw new NfQueueError('NFQ_ERR_ADDON_MISSING', `nfqueue-bindings at ${path} has no RouteMtu export: run npm run build:addon`);
  }
  if (path === ADDON_PATH) cached = binding;
  return binding;
}

/** The sd_notify addon, or undefined when it was not built (then notifications cannot be sent). */
export function loadSdNotify(path = process.env['MSSMANGLER_SD_NOTIFY_ADDON'] ?? SD_NOTIFY_ADDON_PATH): SdNotifyBinding | undefined {
  try {
    return require(path) as SdNotifyBinding;
  } catch {
    return undefined;
  }
}
