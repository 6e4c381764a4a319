// Loads nfqueue-bindings (built by `npm install` / `npm run build:addon`) and checks, once, that it was
// built from the same table layout as binding.ts.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { layoutMismatches, type NativeBinding } from './binding.js';
import { NfQueueError } from './queue-error.js';

/** From dist/src/queue/ (compiled) to the repository root, then the node-gyp output. */
export const ADDON_PATH = fileURLToPath(new URL('../../../addon/build/Release/nfqueue_bindings.node', import.meta.url));

let cached: NativeBinding | undefined;

export function loadBinding(path: string = ADDON_PATH): NativeBinding {
  if (cached && path === ADDON_PATH) return cached;
  const require = createRequire(import.meta.url);
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
    throw new NfQueueError('NFQ_ERR_ADDON_LAYOUT', `nfqueue-bindings layout differs from src/queue/binding.ts (rebuild the addon): ${bad.join('; ')}`);
  }
  if (path === ADDON_PATH) cached = binding;
  return binding;
}
