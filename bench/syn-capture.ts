// Reads the SYNs out of a tcpdump capture written with --time-stamp-precision=nano: for each one its
// key (source port and sequence number, which syngen makes unique within a run), its time in integer
// nanoseconds (a double of epoch seconds cannot hold nanoseconds), its MSS and whether its TCP checksum
// is right. The latency measurement matches the router's two captures by key.
//
// Classic pcap (no pcapng): 24-byte global header, then per packet a 16-byte record header (seconds,
// nanoseconds, captured length, original length) and the bytes, here Ethernet frames from a veth.

const GLOBAL_HEADER_LENGTH = 24;
const RECORD_HEADER_LENGTH = 16;
const MAGIC_NANOSECONDS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const ETHERNET_HEADER_LENGTH = 14;
const ETHERTYPE_OFFSET = 12;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const IPV4_PROTOCOL = 9;
const IPV4_SRC = 12;
const IPV6_NEXT_HEADER = 6;
const IPV6_SRC = 8;
const IPV6_HEADER_LENGTH = 40;
const IPPROTO_TCP = 6;
const TCP_SRC_PORT = 0;
const TCP_SEQ = 4;
const TCP_DATA_OFFSET = 12;
const TCP_FLAGS = 13;
const TCP_MIN_HEADER_LENGTH = 20;
const TCP_SYN = 0x02;
const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_MSS_LENGTH = 4;
const NS_PER_SECOND = 1e9;
/** 2^32: a key is port * 2^32 + sequence number, below 2^48, exact in a double. */
const SEQ_SPACE = 0x1_0000_0000;

export interface SynRecord {
  key: number;
  /** Nanoseconds since `baseSeconds`. */
  timeNs: number;
  /** The first MSS option's value, or -1. */
  mss: number;
  checksumOk: boolean;
}

/** The SYNs in a capture, in capture order. Times count from `baseSeconds` (an epoch second). */
export function readSyns(file: Buffer, baseSeconds: number): SynRecord[] {
  if (file.length < GLOBAL_HEADER_LENGTH) return [];
  if (file.readUInt32LE(0) !== MAGIC_NANOSECONDS) {
    throw new Error('capture is not a little-endian nanosecond pcap: run tcpdump with --time-stamp-precision=nano');
  }
  if ((file.readUInt32LE(20) & 0x0fffffff) !== LINKTYPE_ETHERNET) throw new Error('capture is not Ethernet');
  const records: SynRecord[] = [];
  let at = GLOBAL_HEADER_LENGTH;
  while (at + RECORD_HEADER_LENGTH <= file.length) {
    const seconds = file.readUInt32LE(at);
    const nanoseconds = file.readUInt32LE(at + 4);
    const captured = file.readUInt32LE(at + 8);
    const frame = at + RECORD_HEADER_LENGTH;
    if (frame + captured > file.length) break; // tcpdump ended mid-write
    const record = synRecord(file, frame, captured);
    if (record) {
      record.timeNs = (seconds - baseSeconds) * NS_PER_SECOND + nanoseconds;
      records.push(record);
    }
    at = frame + captured;
  }
  return records;
}

/** The first record's epoch second, a common base for two captures of one run. */
export function firstSecond(file: Buffer): number {
  return file.length >= GLOBAL_HEADER_LENGTH + RECORD_HEADER_LENGTH ? file.readUInt32LE(GLOBAL_HEADER_LENGTH) : 0;
}

function synRecord(file: Buffer, frame: number, captured: number): SynRecord | null {
  if (captured < ETHERNET_HEADER_LENGTH) return null;
  const ip = frame + ETHERNET_HEADER_LENGTH;
  const end = frame + captured;
  const etherType = file.readUInt16BE(frame + ETHERTYPE_OFFSET);
  let tcp: number;
  let pseudo: number;
  if (etherType === ETHERTYPE_IPV4) {
    if (ip + 20 > end || file[ip + IPV4_PROTOCOL] !== IPPROTO_TCP) return null;
    tcp = ip + (file[ip]! & 0x0f) * 4;
    const tcpLength = file.readUInt16BE(ip + 2) - (tcp - ip);
    pseudo = addressSum(file, ip + IPV4_SRC, 8) + IPPROTO_TCP + tcpLength;
  } else if (etherType === ETHERTYPE_IPV6) {
    if (ip + IPV6_HEADER_LENGTH > end || file[ip + IPV6_NEXT_HEADER] !== IPPROTO_TCP) return null;
    tcp = ip + IPV6_HEADER_LENGTH;
    pseudo = addressSum(file, ip + IPV6_SRC, 32) + IPPROTO_TCP + file.readUInt16BE(ip + 4);
  } else {
    return null;
  }
  if (tcp + TCP_MIN_HEADER_LENGTH > end || !(file[tcp + TCP_FLAGS]! & TCP_SYN)) return null;
  const headerLength = (file[tcp + TCP_DATA_OFFSET]! >> 4) * 4;
  const segmentEnd = Math.min(end, tcp + Math.max(headerLength, TCP_MIN_HEADER_LENGTH));
  return {
    key: file.readUInt16BE(tcp + TCP_SRC_PORT) * SEQ_SPACE + file.readUInt32BE(tcp + TCP_SEQ),
    timeNs: 0,
    mss: firstMss(file, tcp, Math.min(end, tcp + headerLength)),
    // A SYN without payload: the captured header is the whole segment (snaplen permitting).
    checksumOk: fold(pseudo + wordSum(file, tcp, segmentEnd)) === 0xffff,
  };
}

function firstMss(file: Buffer, tcp: number, end: number): number {
  let i = tcp + TCP_MIN_HEADER_LENGTH;
  while (i < end) {
    const kind = file[i]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const length = file[i + 1]!;
    if (length < 2 || i + length > end) break;
    if (kind === OPT_MSS && length === OPT_MSS_LENGTH) return file.readUInt16BE(i + 2);
    i += length;
  }
  return -1;
}

function addressSum(file: Buffer, at: number, length: number): number {
  return wordSum(file, at, at + length);
}

function wordSum(file: Buffer, from: number, to: number): number {
  let sum = 0;
  let i = from;
  for (; i + 1 < to; i += 2) sum += file.readUInt16BE(i);
  if (i < to) sum += file[i]! << 8;
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
