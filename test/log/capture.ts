// A writable stream that keeps every line written to it: the logger's output in tests.
import { Writable } from 'node:stream';

export class LineCapture extends Writable {
  readonly lines: string[] = [];
  isTTY?: boolean;
  private partial = '';

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.partial += chunk.toString();
    const parts = this.partial.split('\n');
    this.partial = parts.pop()!;
    this.lines.push(...parts);
    done();
  }

  json(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** Lets the winston pipeline (a chain of streams) deliver what was written. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
