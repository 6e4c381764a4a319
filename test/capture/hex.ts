// Byte fixtures written out by hand: hex digits, whitespace ignored, and a `#` comment to the end of
// each line naming the field. A fixture then reads like the format's diagram:
//
//   hex`d4c3b2a1  # magic, microseconds, little-endian
//        0200 0400 # version 2.4`
export function hex(strings: TemplateStringsArray, ...values: Array<string | Uint8Array>): Uint8Array {
  let text = '';
  strings.forEach((s, i) => {
    text += s;
    if (i < values.length) {
      const v = values[i]!;
      text += typeof v === 'string' ? v : Buffer.from(v).toString('hex');
    }
  });
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
