// The per-layer boundary checks and the option tokenizer on their own: truncated and impossible
// lengths (smoltcp's check_len cases), at absolute offsets inside a larger buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4HeaderLength, ipv4IsFragment } from '../../src/packet/ipv4.js';
import { ipv6HeaderLength } from '../../src/packet/ipv6.js';
import { ipv6HasJumboPayload, ipv6TcpOffset } from '../../src/packet/ipv6-extension-headers.js';
import { Outcome } from '../../src/packet/outcome.js';
import { tcpHeaderLength } from '../../src/packet/tcp.js';
import { MALFORMED_OPTION, NO_MORE_OPTIONS, nextMssOption } from '../../src/packet/tcp-options.js';
import {
  authenticationHeader,
  craftIpv4Tcp,
  craftIpv6Tcp,
  destinationOptions,
  espHeader,
  fragmentHeader,
  hopByHop,
  jumboPayloadOption,
  routing,
} from './craft.js';

function at(offset: number, bytes: Uint8Array | number[]): Uint8Array {
  const out = new Uint8Array(offset + bytes.length + 7).fill(0xcc);
  out.set(bytes, offset);
  return out;
}

test('ipv4HeaderLength: header length, or -1 for the impossible', () => {
  const ok = craftIpv4Tcp({ ipOptions: [1, 1, 1, 1] });
  assert.equal(ipv4HeaderLength(at(5, ok), 5, ok.length), 24);
  assert.equal(ipv4HeaderLength(at(5, ok), 5, 19), -1, 'fewer than 20 bytes captured');
  assert.equal(ipv4HeaderLength(at(5, ok), 5, 23), -1, 'options cut off');
  assert.equal(ipv4HeaderLength(at(0, craftIpv4Tcp({ ihlWords: 4 })), 0, 40), -1, 'IHL 4');
  assert.equal(ipv4HeaderLength(at(0, craftIpv4Tcp({ version: 6 })), 0, 40), -1, 'version');
  assert.equal(ipv4HeaderLength(at(0, craftIpv4Tcp({ totalLength: 19 })), 0, 40), -1, 'total length below header');
  // The total length beyond the capture is the caller's question (Truncated), not an impossibility.
  assert.equal(ipv4HeaderLength(at(0, craftIpv4Tcp({ totalLength: 1000 })), 0, 40), 20);
});

test('ipv4IsFragment: MF or offset, not DF', () => {
  assert.equal(ipv4IsFragment(craftIpv4Tcp({ flagsFragment: 0x4000 }), 0), false);
  assert.equal(ipv4IsFragment(craftIpv4Tcp({ flagsFragment: 0x2000 }), 0), true);
  assert.equal(ipv4IsFragment(craftIpv4Tcp({ flagsFragment: 0x0001 }), 0), true);
});

test('ipv6HeaderLength: 40, or -1', () => {
  const ok = craftIpv6Tcp();
  assert.equal(ipv6HeaderLength(at(3, ok), 3, ok.length), 40);
  assert.equal(ipv6HeaderLength(at(3, ok), 3, 39), -1);
  assert.equal(ipv6HeaderLength(at(0, craftIpv6Tcp({ version: 4 })), 0, 60), -1);
});

test('ipv6TcpOffset: walks the chain with bounds, or names why not', () => {
  const walk = (headers: Parameters<typeof craftIpv6Tcp>[0]): number => {
    const p = craftIpv6Tcp(headers);
    return ipv6TcpOffset(at(9, p), 9, 9 + p.length);
  };
  assert.equal(walk({}), 9 + 40);
  assert.equal(walk({ extensionHeaders: [hopByHop(), routing(), destinationOptions(new Array<number>(14).fill(0))] }), 9 + 40 + 8 + 8 + 16);
  assert.equal(walk({ extensionHeaders: [hopByHop(), fragmentHeader()] }), -Outcome.Fragment);
  assert.equal(walk({ extensionHeaders: [authenticationHeader()] }), -Outcome.UnderAh);
  assert.equal(walk({ extensionHeaders: [espHeader()] }), -Outcome.Encrypted);
  assert.equal(walk({ upperLayer: 17 }), -Outcome.NotTcp);
  // A header whose length runs past the datagram.
  const p = craftIpv6Tcp({ extensionHeaders: [destinationOptions()] });
  assert.equal(ipv6TcpOffset(p, 0, 40 + 7), -Outcome.MalformedIp);
  assert.equal(ipv6TcpOffset(p, 0, 40 + 1), -Outcome.MalformedIp);
  // More headers than the bound.
  const many = craftIpv6Tcp({ extensionHeaders: new Array(17).fill(0).map(() => destinationOptions()) });
  assert.equal(ipv6TcpOffset(many, 0, many.length), -Outcome.MalformedIp);
  const sixteen = craftIpv6Tcp({ extensionHeaders: new Array(16).fill(0).map(() => destinationOptions()) });
  assert.equal(ipv6TcpOffset(sixteen, 0, sixteen.length), 40 + 16 * 8);
});

test('ipv6HasJumboPayload: only a Jumbo Payload option in a first Hop-by-Hop header', () => {
  const jumbo = craftIpv6Tcp({ extensionHeaders: [hopByHop([0, ...jumboPayloadOption(70000)])], payloadLength: 0 });
  assert.equal(ipv6HasJumboPayload(jumbo, 0, jumbo.length), true);
  const padOnly = craftIpv6Tcp({ extensionHeaders: [hopByHop([1, 2, 0, 0])], payloadLength: 0 });
  assert.equal(ipv6HasJumboPayload(padOnly, 0, padOnly.length), false);
  const inDestOpts = craftIpv6Tcp({ extensionHeaders: [destinationOptions(jumboPayloadOption(70000))], payloadLength: 0 });
  assert.equal(ipv6HasJumboPayload(inDestOpts, 0, inDestOpts.length), false);
});

test('tcpHeaderLength: data offset in bytes, or -1', () => {
  const p = craftIpv4Tcp({ options: [2, 4, 5, 0xb4] });
  assert.equal(tcpHeaderLength(at(1, p), 21, 1 + p.length), 24);
  assert.equal(tcpHeaderLength(at(1, p), 21, 21 + 19), -1, 'segment below 20 bytes');
  assert.equal(tcpHeaderLength(at(1, p), 21, 21 + 23), -1, 'options past the segment');
  const small = craftIpv4Tcp({ dataOffsetWords: 4 });
  assert.equal(tcpHeaderLength(small, 20, small.length), -1, 'data offset 4');
});

test('nextMssOption: the tokenizer', () => {
  const walk = (options: number[]): number[] => {
    const bytes = at(3, options);
    const end = 3 + options.length;
    const found: number[] = [];
    let pos = nextMssOption(bytes, 3, end);
    for (; pos >= 0; pos = nextMssOption(bytes, pos + 4, end)) found.push(pos - 3);
    found.push(pos);
    return found;
  };
  assert.deepEqual(walk([2, 4, 5, 0xb4]), [0, NO_MORE_OPTIONS]);
  assert.deepEqual(walk([1, 2, 4, 5, 0xb4, 1, 1, 1]), [1, NO_MORE_OPTIONS]);
  assert.deepEqual(walk([2, 4, 5, 0xb4, 2, 4, 1, 0]), [0, 4, NO_MORE_OPTIONS]);
  assert.deepEqual(walk([0, 0, 0, 0, 2, 4, 5, 0xb4]), [NO_MORE_OPTIONS], 'stops at EOL');
  assert.deepEqual(walk([2, 3, 5, 1]), [NO_MORE_OPTIONS], 'kind 2 with length 3 is not MSS');
  assert.deepEqual(walk([2, 5, 5, 0xb4, 0, 1, 1, 1]), [NO_MORE_OPTIONS], 'kind 2 with length 5 is not MSS');
  assert.deepEqual(walk([3, 0, 2, 4, 5, 0xb4, 1, 1]), [MALFORMED_OPTION], 'zero length cannot loop');
  assert.deepEqual(walk([3, 1, 2, 4, 5, 0xb4, 1, 1]), [MALFORMED_OPTION], 'length 1');
  assert.deepEqual(walk([2, 4, 5, 0xb4, 8, 10, 0, 0]), [0, MALFORMED_OPTION], 'past the header');
  assert.deepEqual(walk([1, 1, 1, 3]), [MALFORMED_OPTION], 'kind without a length byte');
  assert.deepEqual(walk([2, 4, 5]), [MALFORMED_OPTION], 'MSS cut by the header end');
  assert.deepEqual(walk([]), [NO_MORE_OPTIONS]);
});
