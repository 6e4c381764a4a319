// What parsePacket learned about one packet, in a struct the caller allocates once and reuses:
// the packet path fills it in place and never allocates. Offsets are absolute indices into the
// byte array the packet lives in (a batch buffer holds many packets), never relative to the packet.
export class PacketInfo {
  /** 4 or 6; 0 until a packet parsed. */
  family = 0;
  /** Index of the first byte of the IP header. */
  start = 0;
  /** Index one past the last byte of the datagram, from the IP length field (never past the copy). */
  ipEnd = 0;
  /** Index of the TCP header. */
  l4Offset = 0;
  /** TCP data offset in bytes (20..60). */
  tcpHeaderLength = 0;
  /** Bytes of TCP payload after the header. */
  payloadLength = 0;
  /** The TCP flags byte (CWR ECE URG ACK PSH RST SYN FIN). */
  tcpFlags = 0;
  /** Direction.Syn or Direction.SynAck for a handshake segment, Direction.None otherwise. */
  direction = 0;
  srcPort = 0;
  dstPort = 0;
  /** Index of the source address (4 bytes for IPv4, 16 for IPv6). */
  srcAddrOffset = 0;
  /** Index of the destination address. */
  dstAddrOffset = 0;
  /** 4 or 16. */
  addrLength = 0;
}
