// The one error class of the queue layer, with stable string codes (they double as log fields and
// metric labels). The addon's codes pass through unchanged; the others come from this layer.
import type { NativeErrorCode } from '../native/contract.js';

export type NfQueueErrorCode =
  | NativeErrorCode
  /** An NfQueue option is out of range (the message names it and the range). */
  | 'NFQ_ERR_INVALID_OPTION'
  /** addon/build/Release/nfqueue_bindings.node is missing or does not load. */
  | 'NFQ_ERR_ADDON_MISSING'
  /** The addon was built from a different table layout than src/native/contract.ts. */
  | 'NFQ_ERR_ADDON_LAYOUT';

export class NfQueueError extends Error {
  readonly code: NfQueueErrorCode;
  /** The Linux errno behind the error, when there is one. */
  readonly errno: number | undefined;

  constructor(code: NfQueueErrorCode, message: string, options: { cause?: unknown; errno?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NfQueueError';
    this.code = code;
    this.errno = options.errno;
  }
}

const NATIVE_CODES: ReadonlySet<string> = new Set<NativeErrorCode>([
  'NFQ_ERR_QUEUE_BUSY',
  'NFQ_ERR_PERMISSION',
  'NFQ_ERR_UNSUPPORTED',
  'NFQ_ERR_TIMEOUT',
  'NFQ_ERR_SOCKET',
]);

/** The addon's error as an NfQueueError; anything else (a TypeError from a wrong call) unchanged. */
export function fromNative(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const { code, errno } = err as Error & { code?: unknown; errno?: unknown };
  if (typeof code !== 'string' || !NATIVE_CODES.has(code)) return err;
  return new NfQueueError(code as NativeErrorCode, err.message, {
    cause: err,
    errno: typeof errno === 'number' ? errno : undefined,
  });
}
