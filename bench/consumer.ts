// The packet core alone, for comparison with the daemon (`mssmangler run`, which the benchmark runs
// itself): nfqueue-bindings plus parsePacket then rewriteMss per packet, verdicts and new lengths
// written into the descriptor table (the addon sends them all in one sendmsg), on the main thread.
// The difference to the daemon is what the daemon adds: rules, counters, logging, the worker thread.
//
// With --resend-unchanged it does no packet work at all: every packet goes back to the kernel as it came
// (its payload in the verdict, so the kernel does what it does for a rewrite). That is the floor under
// any consumer built on nfqueue-bindings: the addon's I/O and one JavaScript call per batch (the
// benchmark's "floor" path).
//
//   ip netns exec ROUTER node dist/bench/consumer.js --queue N [--mss M] [--max-len N] [--fail-open 0|1]
//     [--batch-size N] [--resend-unchanged]
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
    'resend-unchanged': { type: 'boolean', default: false },
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

/** The floor: the payload goes back as it came, so the verdict carries it as a rewrite's would. No
 * parsing, so no outcomes: its exit line has the queue's counters only. */
function resendUnchanged(batch: QueueBatch): void {
  const { table, count } = batch;
  for (let row = 0, end = count * STRIDE; row < end; row += STRIDE) {
    if ((table[row + Row.flags]! & PacketFlag.truncated) === 0) table[row + Row.newLength] = table[row + Row.length]!;
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
  values['resend-unchanged'] ? resendUnchanged : onBatch,
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
