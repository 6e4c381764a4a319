// The capture reader's public face: what `mssmangler explain` and the lab tests import.
export type { CapturedPacket, CaptureSummary, PacketHandler, ReadCaptureOptions } from './captured-packet.js';
export { readCapture, readCaptureBytes } from './read-capture.js';
export { LinkType } from './link-layer.js';
