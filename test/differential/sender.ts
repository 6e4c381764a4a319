// Sends crafted IP packets from a lab namespace exactly as crafted: python3's AF_PACKET socket puts an
// Ethernet header in front and nothing else touches the bytes (no checksum, length or option fix-up,
// which raw IP sockets may do). python3 is on every fresh Debian machine.
import type { Host, Lab } from '../lab/lab.js';

const SENDER = `
import socket, sys
iface, dst = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', ''))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
src = s.getsockname()[4]
count = 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    packet = bytes.fromhex(line)
    ethertype = b'\\x08\\x00' if packet[0] >> 4 == 4 else b'\\x86\\xdd'
    s.send(dst + src + ethertype + packet)
    count += 1
print('sent', count)
`;

/** Sends every packet (IPv4 or IPv6, from the IP header on) out of `iface` to `destinationMac`. */
export async function sendPackets(
  lab: Lab,
  host: Host,
  iface: string,
  destinationMac: string,
  packets: readonly Uint8Array[],
): Promise<void> {
  const input = packets.map((p) => Buffer.from(p).toString('hex')).join('\n') + '\n';
  const { stdout } = await lab.exec(host, 'python3', ['-c', SENDER, iface, destinationMac], input);
  if (stdout.trim() !== `sent ${packets.length}`) throw new Error(`sender: ${stdout.trim()}`);
}
