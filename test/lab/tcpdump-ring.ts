// How the lab's tcpdumps hold packets until they write them, and the check that they lost none.
//
// --immediate-mode hands each packet to tcpdump as it arrives (otherwise packets wait in the ring for
// a block timeout and a capture stopped right after the traffic misses them). In that mode libpcap
// captures through a TPACKET_V2 ring of fixed-size frames, one packet each, and sizes a frame by the
// snapshot length unless the device is Ethernet (then by its MTU). With tcpdump's default snapshot
// length (262144 bytes) and buffer (2 MiB), `-i any` held 8 packets: on a loaded machine tcpdump got
// no CPU while a transfer burst through, and the kernel dropped the rest (in the path-MTU test, the
// too-big messages answering the client's first full-size segments: the client's stack received them
// and learned the MTU, the capture did not). A frame for the largest IP packet (the lab has no
// jumbograms) and its link-layer header, and a buffer of RING_PACKETS such frames, hold the whole
// traffic of a lab test even if tcpdump reads none of it before the test stops it.
import assert from 'node:assert/strict';

const SNAPSHOT_BYTES = 0xffff + 64;
const RING_PACKETS = 256;
const BUFFER_KIB = Math.ceil((SNAPSHOT_BYTES * RING_PACKETS) / 1024);

/** tcpdump options for every lab capture, before -i, -w and the filter. */
export const TCPDUMP_RING_OPTIONS: readonly string[] = ['--immediate-mode', '-U', '-s', String(SNAPSHOT_BYTES), '-B', String(BUFFER_KIB)];

/** Asserts that a tcpdump stopped with SIGINT reported no packets dropped by the kernel for want of
 * room in its buffer (it prints the count as it exits; no count means it did not exit cleanly). */
export function assertNothingDropped(stderr: string, label: string): void {
  const found = /(\d+) packets? dropped by kernel/.exec(stderr);
  assert.equal(found ? Number(found[1]) : null, 0, `tcpdump ${label} lost packets, its capture is incomplete: ${stderr.trim()}`);
}
