// A two-section pcapng file written out block by block: a little-endian section with two interfaces
// of different link types and resolutions, and a big-endian section after it (pcapng allows each
// section its own byte order) with a binary resolution and a picosecond one with a time offset.
import { concat, hex } from './hex.js';
import { IPV4_SYN, IPV6_SYN } from './ip-samples.js';

export const ETHERNET_IPV4 = concat(hex`020000000002 020000000001 0800`, IPV4_SYN); // 54 bytes
const SLL2_IPV4 = concat(hex`0800 0000 00000001 0304 00 06 000000000000 0000`, IPV4_SYN); // 60 bytes

export const LITTLE_ENDIAN_SECTION = concat(
  hex`
  # Section Header Block
  0a0d0d0a # block type
  1c000000 # total length 28
  4d3c2b1a # byte-order magic 1a2b3c4d, little-endian
  0100 0000 # version 1.0
  ffffffffffffffff # section length: not given
  1c000000 # total length 28

  # Interface Description Block, interface 0: Ethernet, nanoseconds
  01000000 # block type 1
  20000000 # total length 32
  0100 0000 # link type 1, reserved
  00000400 # snaplen 262144
  0900 0100 09 000000 # if_tsresol (9), length 1, 10^-9, padding
  0000 0000 # opt_endofopt
  20000000 # total length 32

  # Interface Description Block, interface 1: raw IP, default resolution (microseconds)
  01000000 14000000 6500 0000 ffff0000 14000000

  # Name Resolution Block: a block type the reader skips
  04000000 10000000 0000 0000 # nrb_record_end
  10000000`,
  hex`
  # Enhanced Packet Block on interface 0
  06000000 # block type 6
  58000000 # total length 88
  00000000 # interface 0
  6090ee18 # timestamp high: 1796532044123456789 ns = 0x18ee90602d95c515
  15c5952d # timestamp low
  36000000 # captured length 54
  36000000 # original length 54`,
  ETHERNET_IPV4,
  hex`0000 # padding to 32 bits
  58000000 # total length 88

  # Enhanced Packet Block on interface 1, with an option after the data
  06000000 68000000 # type 6, length 104
  01000000 # interface 1
  ef610600 404d51b6 # 1796532044123456 us
  3c000000 3c000000 # 60 of 60 bytes`,
  IPV6_SYN,
  hex`0200 0400 01000000 # epb_flags, length 4: inbound
  0000 0000 # opt_endofopt
  68000000

  # Simple Packet Block: interface 0, no timestamp
  03000000 48000000 # type 3, length 72
  36000000 # original length 54`,
  ETHERNET_IPV4,
  hex`0000 48000000

  # Interface Statistics Block: skipped
  05000000 18000000 00000000 00000000 00000000 18000000`,
);

export const BIG_ENDIAN_SECTION = concat(
  hex`
  # Section Header Block, big-endian: a new section forgets the interfaces above
  0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffffffffffff 0000001c

  # Interface Description Block, interface 0: Linux cooked v2, 2^-20 seconds
  00000001 00000020
  0114 0000 # link type 276
  00040000 # snaplen 262144
  0009 0001 94 000000 # if_tsresol: high bit set, 2^-20
  0000 0000
  00000020

  # Enhanced Packet Block on interface 0
  00000006 0000005c 00000000
  0006b14e 74c80000 # 1796532044.5 s in 2^-20 units
  0000003c 0000003c # 60 of 60 bytes`,
  SLL2_IPV4,
  hex`0000005c

  # Interface Description Block, interface 1: raw IPv4 (228), picoseconds, 1796532043 s offset
  00000001 0000002c
  00e4 0000 # link type 228
  00000000 # snaplen: none
  0009 0001 0c 000000 # if_tsresol 10^-12
  000e 0008 000000006b14e74b # if_tsoffset 1796532043 s
  0000 0000
  0000002c

  # (Obsolete) Packet Block on interface 1
  00000002 00000048
  0001 0000 # interface 1, drops 0
  0000015d 3ef79800 # 1.5e12 ps = 1.5 s, plus the offset
  00000028 00000028 # 40 of 40 bytes`,
  IPV4_SYN,
  hex`00000048`,
);

export const TWO_SECTIONS = concat(LITTLE_ENDIAN_SECTION, BIG_ENDIAN_SECTION);

/** File offsets of the blocks the tests name. */
export const Offsets = {
  FIRST_EPB: 28 + 32 + 20 + 16,
  SECOND_EPB: 96 + 88,
  SPB: 184 + 104,
  ISB: 288 + 72,
  SECOND_SHB: 360 + 24,
  BIG_ENDIAN_EPB: 384 + 28 + 32,
  BIG_ENDIAN_IDB1: 444 + 92,
  OPB: 536 + 44,
  END: 580 + 72,
} as const;
