// The explain report for people: one block per handshake with the two capture points side by side,
// a small ladder of the handshake, the sentences, and a summary line. Values that differ between A and
// B are marked: coloured on a terminal, with a '*' otherwise (NO_COLOR, pipes, files).
import { CHANGES, type Change } from './change.js';
import type { ExplainReport, HandshakeReport, SegmentReport, SideReport } from './report.js';

export interface TextStyle {
  colour: boolean;
}

const HIGHLIGHT = '\u001b[1;33m';
const DIM = '\u001b[2m';
const RESET = '\u001b[0m';
const LABEL_WIDTH = 20;
const COLUMN_WIDTH = 30;
const LADDER_CELL = 16;

/** Colour only on a terminal, and never under NO_COLOR (no-color.org: any non-empty value). */
export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '');
}

/** The whole text at once (tests; the CLI streams it with writeTextReport). */
export function renderText(report: ExplainReport, twoCaptures: boolean, style: TextStyle): string {
  const summary = new SummaryCounter(twoCaptures);
  const blocks = report.handshakes.map((h, i) => {
    summary.add(h);
    return renderHandshake(h, i + 1, report.handshakes.length, twoCaptures, style);
  });
  return `${blocks.join('\n')}${blocks.length > 0 ? '\n' : ''}${summary.line()}\n`;
}

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function value(v: number | string | null | undefined): string {
  return v === null || v === undefined ? '-' : String(v);
}

export function renderHandshake(h: HandshakeReport, n: number, total: number, twoCaptures: boolean, style: TextStyle): string {
  const side = h.a ?? h.b!;
  const status = !twoCaptures
    ? ''
    : h.a !== null && h.b !== null
      ? h.changes.length === 0
        ? '  unchanged'
        : `  changed: ${h.changes.join(' ')}`
      : h.a !== null
        ? '  only at A'
        : '  only at B';
  const lines: string[] = [
    `handshake ${n}/${total}  IPv${h.family}  ${endpoint(side.client, side.clientPort)} -> ${endpoint(side.server, side.serverPort)}${status}`,
  ];
  const changed = new Set<Change>(h.changes);
  const mark = (text: string, on: boolean): string => (!on ? text : style.colour ? `${HIGHLIGHT}${text}${RESET}` : `${text} *`);
  const row = (label: string, get: (s: SideReport) => string, change: Change | null = null): void => {
    const on = change !== null && changed.has(change);
    const cells = (twoCaptures ? [h.a, h.b] : [h.a]).map((s) => (s === null ? '(not seen)' : get(s)));
    const shown = cells.map((c, i) => {
      const text = mark(c, on);
      // Padding counts visible characters only: colour codes take none.
      return i === cells.length - 1 ? text : text + ' '.repeat(Math.max(1, COLUMN_WIDTH - c.length - (on && !style.colour ? 2 : 0)));
    });
    lines.push(`  ${label.padEnd(LABEL_WIDTH)}${shown.join('')}`);
  };
  const header = twoCaptures ? `${'A (client side)'.padEnd(COLUMN_WIDTH)}B (server side)` : 'A';
  lines.push(`  ${''.padEnd(LABEL_WIDTH)}${style.colour ? `${DIM}${header}${RESET}` : header}`);
  row('client', (s) => endpoint(s.client, s.clientPort), changed.has('client-address') ? 'client-address' : 'client-port');
  row('server', (s) => endpoint(s.server, s.serverPort), changed.has('server-address') ? 'server-address' : 'server-port');
  segmentRows(row, 'SYN', (s) => s.syn, 'syn');
  segmentRows(row, 'SYN/ACK', (s) => s.synAck, 'synack');
  row('largest to server', (s) => value(s.largestSegmentToServer));
  row('largest to client', (s) => value(s.largestSegmentToClient));
  row('too big (MTU)', (s) => (s.tooBig.length === 0 ? '-' : s.tooBig.map((t) => t.mtu).join(' ')));
  lines.push('', ...ladder(h, twoCaptures, changed, mark, style.colour), '');
  for (const sentence of h.explanation) lines.push(`  - ${sentence}`);
  return `${lines.join('\n')}\n`;
}

type Row = (label: string, get: (s: SideReport) => string, change?: Change | null) => void;

function segmentRows(row: Row, name: string, get: (s: SideReport) => SegmentReport | null, prefix: 'syn' | 'synack'): void {
  row(`${name} mss`, (s) => value(get(s)?.mss), `${prefix}-mss`);
  row(`${name} options`, (s) => value(get(s)?.options), `${prefix}-options`);
  row(`${name} seq`, (s) => value(get(s)?.seq), `${prefix}-seq`);
  row(`${name} ttl`, (s) => value(get(s)?.ttl));
}

/** One line per handshake segment: where it was seen and with which MSS. */
function ladder(
  h: HandshakeReport,
  twoCaptures: boolean,
  changed: Set<Change>,
  mark: (text: string, on: boolean) => string,
  colour: boolean,
): string[] {
  const mss = (s: SideReport | null, get: (s: SideReport) => SegmentReport | null): string => {
    if (s === null) return '[not seen]';
    const segment = get(s);
    return segment === null ? '[no segment]' : `[mss ${value(segment.mss)}]`;
  };
  const syn = (s: SideReport): SegmentReport | null => s.syn;
  const synAck = (s: SideReport): SegmentReport | null => s.synAck;
  const synOn = changed.has('syn-mss') || changed.has('syn-options') || changed.has('syn-seq');
  const synAckOn = changed.has('synack-mss') || changed.has('synack-options') || changed.has('synack-seq');
  if (!twoCaptures) {
    return [`    client --SYN-----> ${mss(h.a, syn)} --> server`, `    client <-SYN/ACK-- ${mss(h.a, synAck)} <-- server`];
  }
  // The arriving value is the one marked: the SYN arrives at B, the SYN/ACK at A.
  const cell = (t: string, on = false): string => mark(t, on) + ' '.repeat(Math.max(1, LADDER_CELL - t.length - (on && !colour ? 2 : 0)));
  return [
    `    client --SYN-----> A ${cell(mss(h.a, syn))}----> B ${cell(mss(h.b, syn), synOn)}--> server`,
    `    client <-SYN/ACK-- A ${cell(mss(h.a, synAck), synAckOn)}<---- B ${cell(mss(h.b, synAck))}<-- server`,
  ];
}

/** Counts handshakes as they are rendered, for the summary line at the end. */
export class SummaryCounter {
  private total = 0;
  private answered = 0;
  private matched = 0;
  private onlyA = 0;
  private onlyB = 0;
  private changed = 0;
  private readonly changes = new Map<Change, number>();

  constructor(private readonly twoCaptures: boolean) {}

  add(h: HandshakeReport): void {
    this.total++;
    if (h.a !== null && h.a.synAck !== null) this.answered++;
    if (h.a !== null && h.b !== null) {
      this.matched++;
      if (h.changes.length > 0) this.changed++;
      for (const c of h.changes) this.changes.set(c, (this.changes.get(c) ?? 0) + 1);
    } else if (h.a !== null) this.onlyA++;
    else this.onlyB++;
  }

  line(): string {
    const handshakes = `${this.total} handshake${this.total === 1 ? '' : 's'}`;
    if (!this.twoCaptures) return `${handshakes} (${this.answered} answered)`;
    // In vocabulary order, whatever order they were met in.
    const detail = CHANGES.filter((c) => this.changes.has(c))
      .map((c) => `${c} ${this.changes.get(c)}`)
      .join(', ');
    return `${handshakes}: ${this.matched} matched, ${this.onlyA} only at A, ${this.onlyB} only at B; ${this.changed} changed between A and B${detail === '' ? '' : ` (${detail})`}`;
  }
}
