// The mssmangler consumer the benchmark measures: nfqueue-bindings plus a batch handler. Two handlers:
// - core (default): the packet core alone, parsePacket then rewriteMss per packet, verdicts and new
//   lengths written into the descriptor table (the addon sends them all in one sendmsg);
// - daemon: the daemon's own PacketHandler (src/daemon/packet-handler.ts) with one `set` rule, i.e.
//   the core plus rule matching and the per-rule counters the metrics read.
// No metrics server or log summaries: those run off the packet path in the daemon.
//
//   ip netns exec ROUTER node dist/bench/consumer.js --queue N [--mss M] [--max-len N] [--fail-open 0|1]
//     [--batch-size N] [--handler core|daemon]
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
import { NfQueue, type BatchHandler, type QueueBatch } from '../src/queue/queue.js';
import { parseConfig } from '../src/config/parse.js';
import { PacketHandler } from '../src/daemon/packet-handler.js';
import { createLogger } from '../src/log/logger.js';
import { PacketCounters } from '../src/metrics/packet-counters.js';
import { compileRules } from '../src/rules/rule-set.js';

const { values } = parseArgs({
  options: {
    queue: { type: 'string', default: '1' },
    mss: { type: 'string', default: '1380' },
    'max-len': { type: 'string', default: '4096' },
    'fail-open': { type: 'string', default: '0' },
    'batch-size': { type: 'string', default: '256' },
    handler: { type: 'string', default: 'core' },
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

/** The daemon's handler with one rule that sets the MSS on every SYN and SYN/ACK (no match: all). */
function daemonHandler(): BatchHandler {
  const parsed = parseConfig(`queue: ${values.queue}\nrules:\n  - name: bench\n    action: set\n    mss: ${values.mss}\n`, 'bench');
  if (!parsed.ok) throw new Error(`bench rule rejected: ${JSON.stringify(parsed.problems)}`);
  const config = parsed.config;
  const counters = new PacketCounters(config.rules.map((r) => ({ name: r.name, action: r.action })));
  // ActionMode.Set never asks for a path MTU.
  const noPathMtu = { beginBatch: () => {}, lookup: () => 0, linkFallbacks: 0, budgetFallbacks: 0 };
  const log = createLogger({ level: 'warn', stream: process.stderr });
  return new PacketHandler(compileRules(config), counters, noPathMtu, { ipv4: config.pmtu.floorIpv4, ipv6: config.pmtu.floorIpv6 }, log)
    .handle;
}

if (values.handler !== 'core' && values.handler !== 'daemon') throw new Error(`--handler must be core or daemon, got ${values.handler}`);
const queue = new NfQueue(
  loadNative(),
  {
    queue: Number(values.queue),
    maxLen: Number(values['max-len']),
    failOpen: values['fail-open'] === '1',
    batchSize: Number(values['batch-size']),
  },
  values.handler === 'daemon' ? daemonHandler() : onBatch,
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
