// The progress line: only for big files, redrawn in place, erased at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROGRESS_MIN_BYTES, Progress } from '../../src/explain/progress.js';

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

test('progress: only on a terminal; small files draw nothing; big ones draw a line and erase it', () => {
  assert.equal(Progress.enabled(fakeStream(false).stream), false);
  const { stream, written } = fakeStream(true);
  assert.equal(Progress.enabled(stream), true);
  const progress = new Progress(stream, ['a.pcap', 'b.pcap']);
  progress.update(0, 10, 1000);
  assert.deepEqual(written, []);
  const total = 4 * PROGRESS_MIN_BYTES;
  progress.update(1, total / 2, total);
  assert.equal(written.length, 1);
  assert.match(written[0]!, /^\r\u001b\[Kreading b\.pcap: 50% of 128 MB$/);
  progress.update(1, total / 2 + 1, total);
  assert.equal(written.length, 1, 'not redrawn within the period');
  progress.update(1, total, total);
  assert.match(written[1]!, /100%/);
  progress.done();
  assert.equal(written[2], '\r\u001b[K');
});
