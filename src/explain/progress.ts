// A progress line on stderr while big captures are read, only when stderr is a terminal (a log file or
// a pipe gets nothing). Redrawn at most every PERIOD_MS, erased when the reading is done.
const PERIOD_MS = 200;
/** Smaller files are read before anyone would look at a progress line. */
export const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

export class Progress {
  private last = 0;
  private shown = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly names: readonly string[],
  ) {}

  static enabled(stream: NodeJS.WriteStream): boolean {
    return stream.isTTY === true;
  }

  update(capture: number, bytesRead: number, totalBytes: number): void {
    if (totalBytes < PROGRESS_MIN_BYTES) return;
    const now = Date.now();
    if (now - this.last < PERIOD_MS && bytesRead < totalBytes) return;
    this.last = now;
    const percent = Math.floor((100 * bytesRead) / totalBytes);
    this.stream.write(`\r\u001b[Kreading ${this.names[capture] ?? ''}: ${percent}% of ${Math.round(totalBytes / 1048576)} MB`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.stream.write('\r\u001b[K');
    this.shown = false;
  }
}
