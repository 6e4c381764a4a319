// `mssmangler explain A [B]`, the flow: stream each capture through its own handshake table (the
// reader hands one packet at a time; the table keeps only connections), match the two tables'
// handshakes; the caller renders the report from the pairs (report-output.ts), one handshake at a time.
import { readCapture, type CaptureSummary } from '../capture/index.js';
import type { Handshake } from './handshake.js';
import { HandshakeTable } from './handshake-table.js';
import { matchHandshakes, type MatchedPair } from './matcher.js';

const NANOS_PER_SECOND = 1e9;

export interface CaptureRead {
  path: string;
  summary: CaptureSummary;
  handshakes: number;
}

export interface Explained {
  /** Every handshake once: matched pairs, and those seen at one point (the other side null). */
  pairs: MatchedPair[];
  twoCaptures: boolean;
  captures: CaptureRead[];
}

export interface ExplainOptions {
  /** Called while a capture is read: which one (0 = A, 1 = B), bytes read, file size. */
  onProgress?: (capture: number, bytesRead: number, totalBytes: number) => void;
}

/** Reads one capture's handshakes. Errors are the reader's (one line naming file and offset). Only the
 * handshakes are returned: the table's index of connections is garbage as soon as the file is read. */
export async function readHandshakes(
  path: string,
  onProgress?: (bytesRead: number, totalBytes: number) => void,
): Promise<{ handshakes: Handshake[]; summary: CaptureSummary }> {
  const table = new HandshakeTable();
  const summary = await readCapture(
    path,
    (p) => {
      if (p.ipOffset >= 0) table.add(p.bytes, p.ipOffset, p.ipLength, p.seconds + p.nanos / NANOS_PER_SECOND);
    },
    onProgress === undefined ? undefined : { onProgress },
  );
  return { handshakes: table.handshakes, summary };
}

export async function explainCaptures(pathA: string, pathB: string | null, options: ExplainOptions = {}): Promise<Explained> {
  const progress = (capture: number) =>
    options.onProgress === undefined ? undefined : (read: number, total: number) => options.onProgress!(capture, read, total);
  const a = await readHandshakes(pathA, progress(0));
  const captures: CaptureRead[] = [{ path: pathA, summary: a.summary, handshakes: a.handshakes.length }];
  let pairs: MatchedPair[];
  if (pathB === null) {
    pairs = a.handshakes.map((h) => ({ a: h, b: null, score: 0 }));
  } else {
    const b = await readHandshakes(pathB, progress(1));
    captures.push({ path: pathB, summary: b.summary, handshakes: b.handshakes.length });
    pairs = matchHandshakes(a.handshakes, b.handshakes);
  }
  return { pairs, twoCaptures: pathB !== null, captures };
}
