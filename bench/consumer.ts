// The packet core alone, for comparison with the daemon (`mssmangler run`, which the benchmark runs
// itself): nfqueue-bindings plus parsePacket then rewriteMss per packet, verdicts and new lengths
// written into the descriptor table (the addon sends them all in one sendmsg), on the main thread.
// The difference to the daemon is what the daemon adds: rules, counters, logging, the worker thread.
//
//   ip netns exec ROUTER node dist/bench/consumer.js --queue N [--mss M] [--max-len N] [--fail-open 0|1]
//     [--batch-size N]
// Prints "ready" on stderr once bound, and on SIGTERM one JSON line of counters on stdout, then exits.
import { parseArgs } from 'node:util';
import {
  ActionMode,
  Direction,
  InsertMode,
  OUTCOME_COUNT,
  Outcome,
  PacketInfo,
  RewriteResult,
  isChange,
  outcomeNames,
  parsePacket,
  rewriteMss,
  type MssAction,
} from '../src/packet/index.js';
import { PacketFlag, Row, STRIDE, TAILROOM } from '../src/native/contract.js';
import { loadNative } from '../src/native/load.js';
import { NfQueue, type QueueBatch } from '../src/queue/queue.js';

const { values } = parseArgs({
  options: {
    queue: { type: 'string', default: '1' },
    mss: { type: 'string', default: '1380' },
    'max-len': { type: 'string', default: '4096' },
    'fail-open': { type: 'string', default: '0' },
    'batch-size': { type: 'string', default: '256' },
  },
});

const action: MssAction = {
  mode: ActionMode.Set,
  mss: Number(values.mss),
  allowIncrease: false,
  directions: Direction.Both,
  insertMode: InsertMode.Off,
  insertMss: 0,
};
// No path MTU: ActionMode.Set never reads it.
const NO_PATH_MTU = 0;

// Allocated once; the handler allocates nothing.
const info = new PacketInfo();
const result = new RewriteResult();
const outcomes = new Float64Array(OUTCOME_COUNT);

function onBatch(batch: QueueBatch): void {
  const { bytes, table, count } = batch;
  for (let row = 0, end = count * STRIDE; row < end; row += STRIDE) {
    let outcome = parsePacket(bytes, table[row + Row.offset]!, table[row + Row.length]!, info);
    if (outcome === Outcome.Parsed) {
      if ((table[row + Row.flags]! & PacketFlag.truncated) !== 0) {
        outcome = Outcome.Truncated;
      } else {
        outcome = rewriteMss(bytes, info, action, NO_PATH_MTU, TAILROOM, result);
        if (isChange(outcome)) table[row + Row.newLength] = result.length;
      }
    }
    outcomes[outcome]!++;
  }
}

const queue = new NfQueue(
  loadNative(),
  {
    queue: Number(values.queue),
    maxLen: Number(values['max-len']),
    failOpen: values['fail-open'] === '1',
    batchSize: Number(values['batch-size']),
  },
  onBatch,
);
process.stderr.write('ready\n');

process.once('SIGTERM', () => {
  queue.close();
  const counts: Record<string, number> = {};
  outcomes.forEach((n, code) => {
    if (n > 0) counts[outcomeNames[code]!] = n;
  });
  process.stdout.write(`${JSON.stringify({ outcomes: counts, queue: queue.stats() })}\n`);
});
