// A readable byte diff for assertion messages: both packets in rows of 16, differing bytes in brackets,
// and the differing offsets listed.

export function hexDiff(expected: Uint8Array, actual: Uint8Array, labels: [string, string] = ['expected', 'actual']): string {
  const length = Math.max(expected.length, actual.length);
  const differing: number[] = [];
  for (let i = 0; i < length; i++) if (expected[i] !== actual[i]) differing.push(i);
  const row = (bytes: Uint8Array, from: number): string => {
    const cells: string[] = [];
    for (let i = from; i < Math.min(from + 16, length); i++) {
      const b = i < bytes.length ? bytes[i]!.toString(16).padStart(2, '0') : '--';
      cells.push(expected[i] !== actual[i] ? `[${b}]` : ` ${b} `);
    }
    return cells.join('');
  };
  const lines = [
    `${labels[0]}: ${expected.length} bytes, ${labels[1]}: ${actual.length} bytes; differing offsets: ${differing.join(', ') || 'none'}`,
  ];
  const width = Math.max(labels[0].length, labels[1].length);
  for (let from = 0; from < length; from += 16) {
    const rowDiffers = differing.some((i) => i >= from && i < from + 16);
    const offset = from.toString().padStart(3, ' ');
    lines.push(`${offset} ${labels[0].padEnd(width)} ${row(expected, from)}`);
    if (rowDiffers) lines.push(`${offset} ${labels[1].padEnd(width)} ${row(actual, from)}`);
  }
  return lines.join('\n');
}

export function toHex(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? '(nothing)' : Buffer.from(bytes).toString('hex');
}
