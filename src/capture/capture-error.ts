// The one error the capture reader throws: ERR_CAPTURE_INVALID, exit code 2. The message is one line:
// the file, the byte offset where reading stopped, what is wrong there, and what to do about it. A
// capture that merely ends mid-record is not an error (the summary's truncatedAt says so).
import { ErrorCode, MssmanglerError } from '../errors.js';

export function captureError(file: string, offset: number, problem: string, remedy: string, cause?: unknown): MssmanglerError {
  return new MssmanglerError(ErrorCode.CaptureInvalid, `${file}: byte ${offset}: ${problem}: ${remedy}`, { cause });
}

/** The remedy for a record that cannot be: keep the records before it (editcap numbers them from 1). */
export function damagedRemedy(goodRecords: number): string {
  return goodRecords === 0
    ? 'the file is damaged before its first packet; capture again'
    : `the file is damaged from here; keep the ${goodRecords} records before it with \`editcap -r FILE OUT 1-${goodRecords}\``;
}
