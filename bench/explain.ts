// `npm run bench:explain`: how long reading a capture of 200,000 TCP connections (1M packets) takes us,
// against `tshark` printing the MSS of the same file's SYNs (issue 10's yardstick: explain must take
// at most a quarter of tshark's time and under 400 MB). Each command runs as a child under
// /usr/bin/time, which reports its wall time and peak RSS; the fastest of the repetitions counts (the
// machine is shared: noise only adds time). Prints a table and writes the "## explain" section of
// bench/RESULTS.md.
//
// Options: --connections N (default 200000), --repeat N (runs of each of our commands, default 3),
// --reuse (keep bench/out/explain/connections.pcap if it is there), --no-results (do not write
// RESULTS.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PACKETS_PER_CONNECTION, writeExplainCapture } from './explain-capture.js';
import { describeMachine, loadAverage } from './machine.js';
import { writeSection } from './report.js';
import { repoRoot } from './rig.js';

const OUT_DIR = join(repoRoot, 'bench/out/explain');
const CAPTURE = join(OUT_DIR, 'connections.pcap');
const RESULTS_PATH = join(repoRoot, 'bench/RESULTS.md');
const TARGET_SHARE_OF_TSHARK = 0.25;
const TARGET_RSS_BYTES = 400 * 1024 * 1024;

interface TimedCommand {
  name: string;
  argv: string[];
  /** Runs to take the fastest of. */
  repeat: number;
}

interface Timing {
  name: string;
  seconds: number;
  maxRssBytes: number;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Wall seconds and peak RSS of one run, from GNU time's last stderr line. */
function timeOnce(argv: string[]): { seconds: number; maxRssBytes: number } {
  const result = spawnSync('/usr/bin/time', ['-f', 'BENCH %e %M', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = result.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('BENCH '))
    .pop();
  if (result.status !== 0 || line === undefined)
    throw new Error(`${argv.join(' ')} failed (${result.status}): ${result.stderr.slice(-2000)}`);
  const [, seconds, rssKb] = line.split(' ');
  return { seconds: Number(seconds), maxRssBytes: Number(rssKb) * 1024 };
}

function measure(command: TimedCommand): Timing {
  let best: Timing | null = null;
  for (let i = 0; i < command.repeat; i++) {
    const run = timeOnce(command.argv);
    log(`  ${command.name}: ${run.seconds.toFixed(2)} s, ${(run.maxRssBytes / 1048576).toFixed(0)} MiB`);
    if (best === null || run.seconds < best.seconds) best = { name: command.name, ...run };
  }
  return best!;
}

function parseArgs(argv: string[]): { connections: number; repeat: number; reuse: boolean; results: boolean } {
  const options = { connections: 200_000, repeat: 3, reuse: false, results: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--connections' || arg === '--repeat') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) throw new Error(`${arg} takes a positive integer`);
      if (arg === '--connections') options.connections = value;
      else options.repeat = value;
    } else if (arg === '--reuse') options.reuse = true;
    else if (arg === '--no-results') options.results = false;
    else throw new Error(`unknown option ${arg}: use --connections N, --repeat N, --reuse, --no-results`);
  }
  return options;
}

function main(): void {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    log((error as Error).message);
    process.exitCode = 2;
    return;
  }
  mkdirSync(OUT_DIR, { recursive: true });
  const packets = options.connections * PACKETS_PER_CONNECTION;
  if (!(options.reuse && existsSync(CAPTURE))) {
    log(`writing ${options.connections} connections (${packets} packets) to ${CAPTURE}`);
    const started = Date.now();
    writeExplainCapture(CAPTURE, options.connections);
    log(`  done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const fileBytes = statSync(CAPTURE).size;
  const tsharkVersion = execFileSync('tshark', ['--version'], { encoding: 'utf8' }).split('\n')[0]!;
  const load = [loadAverage()];

  const commands: TimedCommand[] = [
    {
      name: 'tshark -Y tcp.flags.syn==1 -e tcp.options.mss_val',
      argv: ['tshark', '-r', CAPTURE, '-n', '-Y', 'tcp.flags.syn==1', '-T', 'fields', '-e', 'tcp.options.mss_val'],
      repeat: 1,
    },
    {
      name: 'capture reader alone (readCapture)',
      argv: [process.execPath, join(repoRoot, 'dist/bench/explain-read.js'), CAPTURE],
      repeat: options.repeat,
    },
    // The whole command, output included (to /dev/null): every handshake's JSON with its sentences.
    {
      name: 'mssmangler explain --json (one capture)',
      argv: [process.execPath, join(repoRoot, 'dist/src/cli/main.js'), 'explain', CAPTURE, '--json'],
      repeat: options.repeat,
    },
    // Both points: the file against itself, so every handshake is also scored and matched.
    {
      name: 'mssmangler explain A B --json (the file as A and B)',
      argv: [process.execPath, join(repoRoot, 'dist/src/cli/main.js'), 'explain', CAPTURE, CAPTURE, '--json'],
      repeat: options.repeat,
    },
  ];
  const timings: Timing[] = [];
  for (const command of commands) {
    log(`timing ${command.name}`);
    timings.push(measure(command));
    load.push(loadAverage());
  }

  const machine = describeMachine();
  const tshark = timings[0]!;
  const rows = timings.map((t) => {
    const share = t.seconds / tshark.seconds;
    const verdict =
      t === tshark
        ? ''
        : `${(share * 100).toFixed(1)}% of tshark${share <= TARGET_SHARE_OF_TSHARK && t.maxRssBytes < TARGET_RSS_BYTES ? ' (target met)' : ' (target missed)'}`;
    return `| ${t.name} | ${t.seconds.toFixed(2)} | ${Math.round(packets / t.seconds).toLocaleString('en-US')} | ${(t.maxRssBytes / 1048576).toFixed(0)} | ${verdict} |`;
  });
  const section = [
    '## explain',
    '',
    `\`npm run bench:explain\`: a pcap of ${options.connections.toLocaleString('en-US')} TCP connections (${packets.toLocaleString('en-US')} packets: SYN, SYN/ACK, ACK, request, response; IPv4 and IPv6 alternating; Ethernet; ${(fileBytes / 1048576).toFixed(0)} MiB) written by bench/explain-capture.ts. Wall time and peak RSS from /usr/bin/time, process start included; fastest of ${options.repeat} runs for our commands, one run of tshark. Target (issue 10): at most ${TARGET_SHARE_OF_TSHARK * 100}% of tshark's time and under 400 MB.`,
    '',
    `- Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    `- Machine: ${machine.cpus} CPUs, ${machine.cpuModel}, Node ${machine.node}, kernel ${machine.kernel}; ${tsharkVersion}`,
    `- Load average during the run: ${load.map((l) => l.toFixed(1)).join(', ')}`,
    '',
    '| command | seconds | packets/s | peak RSS MiB | against tshark |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    'The capture reader alone is the floor under `mssmangler explain`: it reads every record and finds the IP header, and explain adds the TCP parsing and the matching on top.',
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (options.results) writeSection(RESULTS_PATH, section, '## explain');
}

main();
