// What the capture reader hands its caller for each record, and what it says of the whole file. The
// packet is a view, not a copy: the reader reuses one object and one buffer for every record, so a 1M
// packet capture costs no allocation per packet. Copy what you keep.

export interface CapturedPacket {
  /** Backing bytes; valid only during the callback. The IP header starts at ipOffset. */
  bytes: Uint8Array;
  /** Offset of the IPv4/IPv6 header in bytes, or -1 when the frame carries no IP (ARP, unknown ethertype). */
  ipOffset: number;
  /** Captured bytes from ipOffset to the end of the record (may be less than the IP total length: snaplen). */
  ipLength: number;
  /** 4, 6 or 0 */
  family: number;
  /** Timestamp: whole seconds since the epoch and nanoseconds within the second. */
  seconds: number;
  nanos: number;
  /** pcapng interface id (0 for pcap). */
  interfaceId: number;
  /** 0-based index of the record in the file, and the byte offset of its record header (for messages). */
  index: number;
  fileOffset: number;
}

export interface CaptureSummary {
  packets: number;
  /** set when the file ended mid-record: offset of that record */
  truncatedAt: number | null;
  format: 'pcap' | 'pcapng';
  linkTypes: number[];
}

export type PacketHandler = (packet: CapturedPacket) => void;

export interface ReadCaptureOptions {
  /** Called after each chunk read from the file: bytes of the file (compressed, for .gz) read so far. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}
