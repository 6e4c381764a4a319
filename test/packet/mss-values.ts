// Test helper: the MSS option values of a parsed packet, in order (stops at EOL or a malformed option).
import { readU16 } from '../../src/packet/bytes.js';
import type { PacketInfo } from '../../src/packet/packet-info.js';
import { TcpField } from '../../src/packet/tcp.js';
import { MSS_OPTION_LENGTH, TcpOptionField, nextMssOption } from '../../src/packet/tcp-options.js';

export function mssValues(bytes: Uint8Array, info: PacketInfo): number[] {
  const values: number[] = [];
  const end = info.l4Offset + info.tcpHeaderLength;
  for (
    let pos = nextMssOption(bytes, info.l4Offset + TcpField.OPTIONS, end);
    pos >= 0;
    pos = nextMssOption(bytes, pos + MSS_OPTION_LENGTH, end)
  ) {
    values.push(readU16(bytes, pos + TcpOptionField.MSS_VALUE));
  }
  return values;
}
