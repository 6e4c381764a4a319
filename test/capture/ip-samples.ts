// The network-layer payloads the capture fixtures carry: an IPv4 and an IPv6 header, short but with
// the version nibble and the fields a reader would look at, so a test can see the IP bytes came
// through unchanged at the offset the reader reports.
import { hex } from './hex.js';

export const IPV4_SYN = hex`
  45 00 0028     # version 4, IHL 5, TOS, total length 40
  1234 4000      # ID, DF
  40 06 0000     # TTL 64, protocol TCP, checksum (not checked by the reader)
  c0000201       # 192.0.2.1
  c6336402       # 198.51.100.2
  c000 0050 00000001 00000000 5002 ffff 0000 0000  # TCP: ports 49152 -> 80, seq 1, SYN`;

export const IPV6_SYN = hex`
  60000000       # version 6, traffic class, flow label
  0014 06 40     # payload length 20, next header TCP, hop limit 64
  20010db8000000000000000000000001  # 2001:db8::1
  20010db8000000000000000000000002  # 2001:db8::2
  c000 0050 00000001 00000000 5002 ffff 0000 0000  # TCP: ports 49152 -> 80, seq 1, SYN`;

export const ARP_REQUEST = hex`
  0001 0800 06 04 0001  # Ethernet/IPv4, hardware size 6, protocol size 4, request
  020000000001 c0000201 000000000000 c0000202  # sender MAC/IP, target MAC/IP`;
