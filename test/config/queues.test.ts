// `queues:` and --queue-balance: a range of queues, one worker each; auto = one per online CPU from
// `queue`; --queue alone is one queue; every mistake is one line with the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { buildConfig } from '../../src/config/parse.js';
import { formatProblem } from '../../src/config/problem.js';
import type { ConfigFlags } from '../../src/config/flags.js';
import { checkArgv } from '../../src/cli/options.js';

function build(text: string, flags: ConfigFlags = {}) {
  return buildConfig({ text: `${text}\nrules:\n  - { name: a, action: set, mss: 1400 }\n`, name: 'q.yaml' }, flags);
}

function queues(text: string, flags: ConfigFlags = {}): [number, number] {
  const r = build(text, flags);
  if (!r.ok) assert.fail(r.problems.map(formatProblem).join('\n'));
  assert.equal(r.config.queue, r.config.queues.first);
  return [r.config.queues.first, r.config.queues.last];
}

function problem(text: string, flags: ConfigFlags = {}): string {
  const r = build(text, flags);
  assert.ok(!r.ok);
  return r.problems.map(formatProblem).join('\n');
}

test('queues: one queue by default, a range, auto from queue', () => {
  assert.deepEqual(queues(''), [0, 0]);
  assert.deepEqual(queues('queue: 3'), [3, 3]);
  assert.deepEqual(queues('queues: "2-5"'), [2, 5]);
  assert.deepEqual(queues('queue: 4\nqueues: auto'), [4, 4 + availableParallelism() - 1]);
});

test('queues: flags --queue-balance and --queue over the file', () => {
  assert.deepEqual(queues('queues: "2-5"', { queueBalance: '0:1' }), [0, 1]);
  assert.deepEqual(queues('queues: "2-5"', { queue: 9 }), [9, 9], '--queue alone is one queue');
  assert.deepEqual(queues('queue: 2', { queueBalance: '6:7' }), [6, 7], 'the range names its first queue');
  assert.deepEqual(queues('queues: auto', { queue: 9 }), [9, 9 + availableParallelism() - 1]);
});

test('queues: mistakes name the fix', () => {
  assert.match(problem('queues: "5-2"'), /ends before it starts; write the lower queue first, e\.g\. 2-5/);
  assert.match(problem('queues: 7'), /not a queue range; write "FIRST-LAST" \(e\.g\. "0-3"\) or auto/);
  assert.match(problem('queues: "0-70000"'), /queue numbers go up to 65535/);
  assert.match(problem('queues: "0-999"'), /1000 queues; at most 256/);
  assert.match(problem('queue: 1\nqueues: "2-3"'), /already names the first queue; remove queue/);
  assert.equal(
    checkArgv({ _: ['run'], 'set-mss': 1400, 'queue-balance': '3:1' }),
    '--queue-balance: "3:1" ends before it starts; write the lower queue first, e.g. 1:3',
  );
  assert.match(
    checkArgv({ _: ['run'], 'set-mss': 1400, 'queue-balance': '1:3', queue: 2 }) ?? '',
    /--queue and --queue-balance are exclusive/,
  );
  assert.equal(checkArgv({ _: ['run'], 'set-mss': 1400, 'queue-balance': '1:3' }), null);
});
