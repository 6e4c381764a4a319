// What a file format's reader does with a window of the file: read every whole record in it, hand each
// packet on, and say where the first incomplete record starts and how many bytes it needs in all (so
// the caller can refill, or grow its buffer for a record larger than it). One implementation per
// format: pcap-records.ts and pcapng-blocks.ts.

export interface RecordReader {
  readonly format: 'pcap' | 'pcapng';
  /** Link types of the file's interfaces, each once, in the order the file declares them. */
  readonly linkTypes: number[];
  /** Packets handed on so far. */
  readonly packets: number;
  /** After parse returned: bytes the record at the returned position needs, counted from there. */
  readonly wanted: number;
  /**
   * Reads the records in bytes[start, end) (a view over the same buffer as `view`); `base` is the file
   * offset of bytes[0]. Returns the position of the first record not wholly inside the window.
   * Throws the capture error (capture-error.ts) for anything impossible.
   */
  parse(bytes: Uint8Array, view: DataView, start: number, end: number, base: number): number;
}
