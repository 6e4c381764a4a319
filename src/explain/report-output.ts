// Writing the report as it is built, one handshake at a time: 200,000 handshakes make a document of
// well over 100 MB, which should never exist as one string (or one object tree) in memory. Chunks go
// to `write` (process.stdout: synchronous for files and pipes on Linux, so memory stays flat).
import type { MatchedPair } from './matcher.js';
import { handshakeReport } from './report.js';
import { SummaryCounter, renderHandshake, type TextStyle } from './text-report.js';

const CHUNK_CHARACTERS = 1 << 20;

class ChunkedWriter {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly write: (text: string) => void) {}

  add(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= CHUNK_CHARACTERS) this.flush();
  }

  flush(): void {
    if (this.parts.length > 0) this.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

/** The --json document: exactly JSON.parse-equal to buildReport's, one handshake per line. */
export function writeJsonReport(pairs: readonly MatchedPair[], twoCaptures: boolean, write: (text: string) => void): void {
  const out = new ChunkedWriter(write);
  out.add('{"handshakes": [');
  pairs.forEach((pair, i) => out.add(`${i === 0 ? '\n' : ',\n'}${JSON.stringify(handshakeReport(pair, twoCaptures))}`));
  out.add(pairs.length === 0 ? ']}\n' : '\n]}\n');
  out.flush();
}

/** The text report: one block per handshake, the summary line last. */
export function writeTextReport(
  pairs: readonly MatchedPair[],
  twoCaptures: boolean,
  style: TextStyle,
  write: (text: string) => void,
): void {
  const out = new ChunkedWriter(write);
  const summary = new SummaryCounter(twoCaptures);
  pairs.forEach((pair, i) => {
    const report = handshakeReport(pair, twoCaptures);
    summary.add(report);
    out.add(`${i === 0 ? '' : '\n'}${renderHandshake(report, i + 1, pairs.length, twoCaptures, style)}`);
  });
  out.add(`${pairs.length > 0 ? '\n' : ''}${summary.line()}\n`);
  out.flush();
}
