// NfQueue over a binding double: what it allocates and passes down, how it calls the handler, how it
// validates options and maps the addon's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NfQueue, NfQueueDefaults, type QueueBatch } from '../../src/queue/queue.js';
import { NfQueueError } from '../../src/queue/queue-error.js';
import {
  MIN_BUFFER_BYTES,
  Row,
  STRIDE,
  type NativeBinding,
  type NativeQueueOptions,
  type NativeQueueStats,
} from '../../src/native/contract.js';

interface Call {
  queueNum: number;
  buffer: Uint8Array;
  table: Uint32Array;
  onBatch: (count: number) => void;
  onError: ((err: unknown) => void) | undefined;
  options: NativeQueueOptions;
}

function double(fail?: Error): { binding: Pick<NativeBinding, 'Queue'>; calls: Call[]; closed: number[] } {
  const calls: Call[] = [];
  const closed: number[] = [];
  class Queue {
    readonly portId = 4242;
    isOpen = true;
    constructor(
      queueNum: number,
      buffer: Uint8Array,
      table: Uint32Array,
      onBatch: (count: number) => void,
      onError: ((err: unknown) => void) | undefined,
      options: NativeQueueOptions,
    ) {
      if (fail) throw fail;
      calls.push({ queueNum, buffer, table, onBatch, onError, options });
    }
    close(): void {
      closed.push(1);
      this.isOpen = false;
    }
    stats(): NativeQueueStats {
      return { packets: 7 } as NativeQueueStats;
    }
  }
  return { binding: { Queue }, calls, closed };
}

test('NfQueue allocates the buffer and table once and passes every option, defaults filled in', () => {
  const { binding, calls } = double();
  const q = new NfQueue(binding, { queue: 5 }, () => {});
  assert.equal(calls.length, 1);
  const c = calls[0]!;
  assert.equal(c.queueNum, 5);
  assert.equal(c.buffer.byteLength, NfQueueDefaults.bufferBytes);
  assert.equal(c.table.length, NfQueueDefaults.batchSize * STRIDE);
  assert.deepEqual(c.options, {
    maxLen: 4096,
    failOpen: true,
    rcvBuf: 0,
    maxPacketsPerWake: 1024,
    batchVerdicts: true,
    lingerMs: 10,
  });
  assert.equal(c.buffer, q.batch.bytes);
  assert.equal(c.table, q.batch.table);
  assert.equal(q.portId, 4242);

  new NfQueue(
    binding,
    {
      queue: 6,
      maxLen: 10,
      failOpen: false,
      batchSize: 3,
      bufferBytes: MIN_BUFFER_BYTES,
      rcvBuf: 1 << 20,
      maxPacketsPerWake: 2,
      batchVerdicts: false,
      lingerMs: 0,
    },
    () => {},
  );
  const d = calls[1]!;
  assert.equal(d.table.length, 3 * STRIDE);
  assert.equal(d.buffer.byteLength, MIN_BUFFER_BYTES);
  assert.deepEqual(d.options, { maxLen: 10, failOpen: false, rcvBuf: 1 << 20, maxPacketsPerWake: 2, batchVerdicts: false, lingerMs: 0 });
});

test('the handler gets the same batch object every time, with the count of this batch', () => {
  const { binding, calls } = double();
  const seen: Array<[QueueBatch, number]> = [];
  new NfQueue(binding, { queue: 1 }, (batch) => {
    seen.push([batch, batch.count]);
    batch.table[Row.verdict] = 0;
  });
  calls[0]!.onBatch(3);
  calls[0]!.onBatch(1);
  assert.equal(seen.length, 2);
  assert.equal(seen[0]![0], seen[1]![0]);
  assert.deepEqual(
    seen.map(([, n]) => n),
    [3, 1],
  );
  assert.equal(calls[0]!.table[Row.verdict], 0, 'the handler writes into the table the addon reads');
});

test('onError goes down to the addon; a throwing handler throws through onBatch for the addon to catch', () => {
  const { binding, calls } = double();
  const onError = (): void => {};
  new NfQueue(binding, { queue: 1, onError }, () => {
    throw new Error('boom');
  });
  assert.equal(calls[0]!.onError, onError);
  assert.throws(() => calls[0]!.onBatch(1), /boom/);
});

test('options out of range are NFQ_ERR_INVALID_OPTION and never reach the addon', () => {
  const { binding, calls } = double();
  const bad = [
    { queue: -1 },
    { queue: 65536 },
    { queue: 1.5 },
    { queue: 1, maxLen: 0 },
    { queue: 1, batchSize: 0 },
    { queue: 1, bufferBytes: MIN_BUFFER_BYTES - 1 },
    { queue: 1, maxPacketsPerWake: 0 },
    { queue: 1, rcvBuf: -1 },
    { queue: 1, lingerMs: -1 },
    { queue: 1, lingerMs: 1001 },
  ];
  for (const options of bad) {
    assert.throws(
      () => new NfQueue(binding, options, () => {}),
      (err: unknown) => err instanceof NfQueueError && err.code === 'NFQ_ERR_INVALID_OPTION',
      JSON.stringify(options),
    );
  }
  assert.equal(calls.length, 0);
});

test("the addon's coded errors become NfQueueError with the same code and errno; other errors pass unchanged", () => {
  const native = Object.assign(new Error('NFQUEUE queue 1: CAP_NET_ADMIN is missing'), { code: 'NFQ_ERR_PERMISSION', errno: 1 });
  assert.throws(
    () => new NfQueue(double(native).binding, { queue: 1 }, () => {}),
    (err: unknown) =>
      err instanceof NfQueueError &&
      err.code === 'NFQ_ERR_PERMISSION' &&
      err.errno === 1 &&
      err.cause === native &&
      /CAP_NET_ADMIN/.test(err.message),
  );
  const typeError = new TypeError('bad arguments');
  assert.throws(
    () => new NfQueue(double(typeError).binding, { queue: 1 }, () => {}),
    (err: unknown) => err === typeError,
  );
});

test('close and stats go to the native queue', () => {
  const { binding, closed } = double();
  const q = new NfQueue(binding, { queue: 1 }, () => {});
  assert.equal(q.isOpen, true);
  assert.equal(q.stats().packets, 7);
  q.close();
  assert.equal(closed.length, 1);
  assert.equal(q.isOpen, false);
});
