// The real addon, without binding a queue: it loads, its table layout is contract.ts's, and a wrong
// call is a JavaScript error, never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative } from '../../src/native/load.js';
import { layoutMismatches, MIN_BUFFER_BYTES, STRIDE } from '../../src/native/contract.js';
import { NfQueueError } from '../../src/queue/queue-error.js';

test('the built addon loads and agrees with contract.ts on the table layout', () => {
  const binding = loadNative();
  assert.deepEqual(layoutMismatches(binding.layout), []);
  assert.equal(typeof binding.Queue, 'function');
});

test('a layout difference is reported field by field', () => {
  const layout = { ...loadNative().layout, stride: 12, verdict: 3 };
  assert.deepEqual(layoutMismatches(layout), ['stride: addon 12, contract.ts 16', 'verdict: addon 3, contract.ts 10']);
});

test('a missing addon file is NFQ_ERR_ADDON_MISSING', () => {
  assert.throws(
    () => loadNative('/nonexistent/nfqueue_bindings.node'),
    (err: unknown) => err instanceof NfQueueError && err.code === 'NFQ_ERR_ADDON_MISSING',
  );
});

test('wrong arguments are TypeError / RangeError from the addon, before any socket exists', () => {
  const { Queue } = loadNative();
  const options = { maxLen: 16, failOpen: true, rcvBuf: 0, maxBatchesPerWake: 1, batchVerdicts: true };
  const bytes = new Uint8Array(MIN_BUFFER_BYTES);
  const table = new Uint32Array(STRIDE);
  const noop = (): void => {};
  const Ctor = Queue as unknown as new (...args: unknown[]) => unknown;
  assert.throws(() => new Ctor(), TypeError);
  assert.throws(() => new Ctor(1, 'not bytes', table, noop, undefined, options), TypeError);
  assert.throws(() => new Ctor(1, bytes, new Int32Array(STRIDE), noop, undefined, options), TypeError);
  assert.throws(() => new Ctor(70000, bytes, table, noop, undefined, options), TypeError);
  assert.throws(() => new Ctor(1, bytes, table, 'not a function', undefined, options), TypeError);
  assert.throws(() => new Ctor(1, new Uint8Array(MIN_BUFFER_BYTES - 1), table, noop, undefined, options), RangeError);
  assert.throws(() => new Ctor(1, bytes, new Uint32Array(STRIDE - 1), noop, undefined, options), RangeError);
});
