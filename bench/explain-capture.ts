// The capture the explain benchmark reads: N TCP connections of five packets each (SYN, SYN/ACK, ACK,
// a request and a response), IPv4 and IPv6 alternating, on Ethernet, in a microsecond pcap written
// with the tests' PcapWriter (never tcpdump: the file must not depend on the machine). Every segment
// has valid checksums and the options Linux sends, so the file is what a busy server's capture holds.
import { closeSync, openSync, writeSync } from 'node:fs';
import { craftIpv4Tcp, craftIpv6Tcp, linuxSynOptions } from '../test/packet/craft.js';
import { PcapWriter } from '../test/support/pcap-writer.js';
import { TcpFlag } from '../src/packet/tcp.js';

export const PACKETS_PER_CONNECTION = 5;
const LINKTYPE_ETHERNET = 1;
const ETHERNET_IPV4 = new Uint8Array([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
const ETHERNET_IPV6 = new Uint8Array([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd]);
const CLIENT_MSS = 1460;
const SERVER_MSS = 1380;
const REQUEST = new Array<number>(120).fill(0x61);
const RESPONSE = new Array<number>(600).fill(0x62);
const FIRST_SECOND = 1796500000;
/** A new connection every 500 us; the packets of one 20 us apart. */
const CONNECTION_SPACING_US = 500;
const PACKET_SPACING_US = 20;
const PORTS = 60000;
const FLUSH_EVERY = 5000;

interface Endpoints {
  family: 4 | 6;
  client: number[];
  server: number[];
  clientPort: number;
}

function endpoints(i: number): Endpoints {
  const host = Math.floor(i / PORTS);
  const clientPort = 1024 + (i % PORTS);
  if (i % 2 === 0) return { family: 4, client: [198, 51, 100 + (host & 3), 1 + (host >> 2)], server: [203, 0, 113, 2], clientPort };
  return {
    family: 6,
    client: [0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, host >> 8, (host & 0xff) + 1],
    server: [0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    clientPort,
  };
}

/** Writes the capture to `path`; returns the number of packets. */
export function writeExplainCapture(path: string, connections: number): number {
  const writer = new PcapWriter({ linkType: LINKTYPE_ETHERNET });
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < connections; i++) {
      const e = endpoints(i);
      const clientIsn = (i * 2654435761) >>> 0;
      const serverIsn = (i * 40503 + 0x9e3779b9) >>> 0;
      const toServer = { src: e.client, dst: e.server, srcPort: e.clientPort, dstPort: 443 };
      const toClient = { src: e.server, dst: e.client, srcPort: 443, dstPort: e.clientPort };
      const segments = [
        { ...toServer, flags: TcpFlag.SYN, seq: clientIsn, options: linuxSynOptions(CLIENT_MSS) },
        { ...toClient, flags: TcpFlag.SYN | TcpFlag.ACK, seq: serverIsn, ack: (clientIsn + 1) >>> 0, options: linuxSynOptions(SERVER_MSS) },
        { ...toServer, flags: TcpFlag.ACK, seq: (clientIsn + 1) >>> 0, ack: (serverIsn + 1) >>> 0 },
        { ...toServer, flags: TcpFlag.PSH | TcpFlag.ACK, seq: (clientIsn + 1) >>> 0, ack: (serverIsn + 1) >>> 0, payload: REQUEST },
        {
          ...toClient,
          flags: TcpFlag.PSH | TcpFlag.ACK,
          seq: (serverIsn + 1) >>> 0,
          ack: (clientIsn + 1 + REQUEST.length) >>> 0,
          payload: RESPONSE,
        },
      ];
      const startUs = i * CONNECTION_SPACING_US;
      segments.forEach((segment, k) => {
        const us = startUs + k * PACKET_SPACING_US;
        const ip = e.family === 4 ? craftIpv4Tcp(segment) : craftIpv6Tcp({ ...segment, hopLimit: 64 });
        writer.add(FIRST_SECOND + Math.floor(us / 1e6), us % 1e6, e.family === 4 ? ETHERNET_IPV4 : ETHERNET_IPV6, ip);
      });
      if (i % FLUSH_EVERY === FLUSH_EVERY - 1) writeSync(fd, writer.take());
    }
    writeSync(fd, writer.take());
  } finally {
    closeSync(fd);
  }
  return connections * PACKETS_PER_CONNECTION;
}
