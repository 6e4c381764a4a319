// The bytes of a capture file, read in order into the caller's buffer: straight from the file, or
// through zlib when the file starts with the gzip magic (1f 8b, RFC 1952), whatever its name. Neither
// path holds more than a chunk or two in memory.
import { open, type FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { captureError } from './capture-error.js';

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;
export const CHUNK_LENGTH = 1024 * 1024;

export function startsWithGzipMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC_0 && bytes[1] === GZIP_MAGIC_1;
}

export interface ByteSource {
  /** Copies up to `length` bytes into target at `offset`; 0 at the end. */
  read(target: Uint8Array, offset: number, length: number): Promise<number>;
  /** Bytes of the file itself read so far (compressed bytes for a gzip file). */
  readonly fileBytesRead: number;
  readonly fileLength: number;
  /** A gzip stream that stopped mid-member: what came before it is all there is. */
  readonly cutShort: boolean;
  close(): Promise<void>;
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}

export async function openByteSource(file: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw captureError(file, 0, `cannot open the file (${describe(error)})`, 'check the path and that you may read it', error);
  }
  try {
    const { size } = await handle.stat();
    const head = new Uint8Array(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    if (bytesRead === 2 && startsWithGzipMagic(head)) return new GunzipSource(file, handle, size);
    return new FileSource(file, handle, size);
  } catch (error) {
    await handle.close();
    if ((error as { code?: string }).code === 'ERR_CAPTURE_INVALID') throw error;
    throw captureError(file, 0, `cannot read the file (${describe(error)})`, 'check that it is a regular file you may read', error);
  }
}

class FileSource implements ByteSource {
  fileBytesRead = 0;
  readonly cutShort = false;

  constructor(
    private readonly file: string,
    private readonly handle: FileHandle,
    readonly fileLength: number,
  ) {}

  async read(target: Uint8Array, offset: number, length: number): Promise<number> {
    try {
      const { bytesRead } = await this.handle.read(target, offset, length, null);
      this.fileBytesRead += bytesRead;
      return bytesRead;
    } catch (error) {
      throw captureError(
        this.file,
        this.fileBytesRead,
        `cannot read the file (${describe(error)})`,
        'check that it is a regular file you may read',
        error,
      );
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

class GunzipSource implements ByteSource {
  fileBytesRead = 0;
  cutShort = false;
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer | null = null;
  private pendingAt = 0;
  private outputBytes = 0;
  private readonly stop: () => void;

  constructor(
    private readonly file: string,
    handle: FileHandle,
    readonly fileLength: number,
  ) {
    const raw = handle.createReadStream({ start: 0, highWaterMark: CHUNK_LENGTH, autoClose: true });
    const gunzip = createGunzip({ chunkSize: CHUNK_LENGTH });
    raw.on('data', (chunk: string | Buffer) => {
      this.fileBytesRead += chunk.length;
    });
    // pipe() does not forward errors: a read error must end the gunzip stream we iterate.
    raw.on('error', (error) => gunzip.destroy(error));
    raw.pipe(gunzip);
    this.chunks = gunzip[Symbol.asyncIterator]();
    this.stop = () => {
      raw.destroy();
      gunzip.destroy();
    };
  }

  async read(target: Uint8Array, offset: number, length: number): Promise<number> {
    while (this.pending === null) {
      let next: IteratorResult<Buffer>;
      try {
        next = await this.chunks.next();
      } catch (error) {
        // zlib's "unexpected end of file": a gzip file cut short, like a capture cut mid-record.
        if ((error as { code?: string }).code === 'Z_BUF_ERROR') {
          this.cutShort = true;
          return 0;
        }
        const zlibProblem = (error as { code?: string }).code?.startsWith('Z_') === true;
        throw captureError(
          this.file,
          this.outputBytes,
          zlibProblem
            ? `gzip data is damaged here, counting uncompressed bytes (${(error as Error).message})`
            : `cannot read the file (${describe(error)})`,
          zlibProblem
            ? 'check it with `gzip -t FILE`; `zcat FILE > OUT` keeps what can be read'
            : 'check that it is a regular file you may read',
          error,
        );
      }
      if (next.done) return 0;
      if (next.value.length > 0) {
        this.pending = next.value;
        this.pendingAt = 0;
      }
    }
    const n = Math.min(length, this.pending.length - this.pendingAt);
    target.set(this.pending.subarray(this.pendingAt, this.pendingAt + n), offset);
    this.pendingAt += n;
    if (this.pendingAt === this.pending.length) this.pending = null;
    this.outputBytes += n;
    return n;
  }

  async close(): Promise<void> {
    this.stop();
  }
}
