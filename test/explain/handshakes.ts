// Hand-made handshakes for the matcher and explanation unit tests: a Linux-looking connection by
// default, every field overridable.
import { Handshake, type SegmentSeen } from '../../src/explain/handshake.js';

export interface HandshakeSpec {
  family?: 4 | 6;
  client?: string;
  clientPort?: number;
  server?: string;
  serverPort?: number;
  index?: number;
  time?: number;
  syn?: Partial<SegmentSeen> | null;
  synAck?: Partial<SegmentSeen> | null;
  clientDataTtl?: number;
  serverDataTtl?: number;
  largestToServer?: number;
  largestToClient?: number;
  tooBig?: Array<{ mtu: number; toServer: boolean }>;
}

export function segment(overrides: Partial<SegmentSeen>, time: number): SegmentSeen {
  return { mss: 1460, options: 'mss,sok,ts,nop,ws', seq: 1000, ttl: 64, wscale: 7, tsVal: null, time, ...overrides };
}

export function handshake(spec: HandshakeSpec = {}): Handshake {
  const time = spec.time ?? 100;
  const h = new Handshake(
    spec.family ?? 4,
    spec.client ?? '198.51.100.2',
    spec.clientPort ?? 40000,
    spec.server ?? '203.0.113.2',
    spec.serverPort ?? 443,
    spec.index ?? 0,
    time,
  );
  h.syn = spec.syn === null ? null : segment(spec.syn ?? {}, time);
  h.synAck = spec.synAck === null ? null : segment({ seq: 5000, ttl: 63, ...(spec.synAck ?? {}) }, time + 0.001);
  h.clientDataTtl = spec.clientDataTtl ?? -1;
  h.serverDataTtl = spec.serverDataTtl ?? -1;
  h.largestToServer = spec.largestToServer ?? -1;
  h.largestToClient = spec.largestToClient ?? -1;
  for (const t of spec.tooBig ?? []) h.addTooBig(t.mtu, t.toServer);
  return h;
}
