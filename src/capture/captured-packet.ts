// PLACEHOLDER until branch `capture` lands (its file replaces this one on merge): the interface the
// explain command codes against.
import { ErrorCode, MssmanglerError } from '../errors.js';

export interface CapturedPacket { bytes: Uint8Array; ipOffset: number; ipLength: number; family: number; seconds: number; nanos: number; interfaceId: number; index: number; fileOffset: number; }
export interface CaptureSummary { packets: number; truncatedAt: number | null; format: 'pcap' | 'pcapng'; linkTypes: number[] }
export async function readCapture(path: string, _onPacket: (p: CapturedPacket) => void, _options?: { onProgress?: (bytesRead: number, totalBytes: number) => void }): Promise<CaptureSummary> {
  throw new MssmanglerError(ErrorCode.NotImplemented, `${path}: the capture reader is not merged yet`);
}
