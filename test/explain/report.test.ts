// The JSON document's exact shape (issue 10: scripts rely on it), and the text rendering of the same
// report: columns, marks for what changed, colour only when wanted, the summary line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHANGES } from '../../src/explain/change.js';
import { matchHandshakes } from '../../src/explain/matcher.js';
import { buildReport } from '../../src/explain/report.js';
import { writeJsonReport, writeTextReport } from '../../src/explain/report-output.js';
import { renderText, wantsColour } from '../../src/explain/text-report.js';
import { handshake } from './handshakes.js';

function samplePairs() {
  const a = [
    handshake({
      clientPort: 40000,
      syn: { mss: 1460, seq: 1, tsVal: 11 },
      synAck: { mss: 1380, seq: 2, ttl: 63 },
      largestToServer: 1368,
      largestToClient: 6,
      tooBig: [
        { mtu: 1280, toServer: true },
        { mtu: 1280, toServer: false },
        { mtu: 1400, toServer: true },
      ],
    }),
    handshake({ clientPort: 40001, index: 1, time: 105, syn: { seq: 77, tsVal: 99 }, synAck: null }),
  ];
  const b = [
    handshake({
      client: '203.0.113.1',
      clientPort: 1024,
      syn: { mss: 1380, seq: 1, tsVal: 11, ttl: 63 },
      synAck: { mss: 1460, seq: 2, ttl: 64 },
      largestToServer: 1368,
      largestToClient: 6,
    }),
  ];
  return matchHandshakes(a, b);
}

function sample() {
  return buildReport(samplePairs(), true);
}

test('JSON: exactly the keys of issue 10, in its order, with its value types', () => {
  const document = JSON.parse(JSON.stringify(sample())) as { handshakes: Array<Record<string, unknown>> };
  assert.deepEqual(Object.keys(document), ['handshakes']);
  const [matched, onlyA] = document.handshakes;
  for (const h of document.handshakes) assert.deepEqual(Object.keys(h), ['family', 'a', 'b', 'changes', 'explanation']);
  const sideKeys = [
    'client',
    'clientPort',
    'server',
    'serverPort',
    'syn',
    'synAck',
    'largestSegmentToServer',
    'largestSegmentToClient',
    'tooBig',
  ];
  const a = matched!['a'] as Record<string, unknown>;
  assert.deepEqual(Object.keys(a), sideKeys);
  assert.deepEqual(Object.keys(matched!['b'] as object), sideKeys);
  assert.deepEqual(a, {
    client: '198.51.100.2',
    clientPort: 40000,
    server: '203.0.113.2',
    serverPort: 443,
    syn: { mss: 1460, options: 'mss,sok,ts,nop,ws', seq: 1, ttl: 64 },
    synAck: { mss: 1380, options: 'mss,sok,ts,nop,ws', seq: 2, ttl: 63 },
    largestSegmentToServer: 1368,
    largestSegmentToClient: 6,
    tooBig: [{ mtu: 1280 }, { mtu: 1400 }],
  });
  assert.equal(matched!['family'], 4);
  assert.deepEqual(matched!['changes'], ['syn-mss', 'synack-mss', 'client-address', 'client-port']);
  for (const c of matched!['changes'] as string[]) assert.ok((CHANGES as readonly string[]).includes(c));
  assert.ok((matched!['explanation'] as unknown[]).every((s) => typeof s === 'string' && s.endsWith('.')));
  assert.equal(onlyA!['b'], null);
  assert.deepEqual(onlyA!['changes'], []);
  const side = onlyA!['a'] as Record<string, unknown>;
  assert.equal(side['synAck'], null);
  assert.equal(side['largestSegmentToServer'], null);
  assert.deepEqual(side['tooBig'], []);
});

test('text: both points side by side, changes marked with * when not coloured, summary line last', () => {
  const text = renderText(sample(), true, { colour: false });
  assert.doesNotMatch(text, /\u001b/);
  assert.match(
    text,
    /^handshake 1\/2 {2}IPv4 {2}198\.51\.100\.2:40000 -> 203\.0\.113\.2:443 {2}changed: syn-mss synack-mss client-address client-port$/m,
  );
  assert.match(text, /^ {2}SYN mss {13}1460 \* {24}1380 \*$/m);
  assert.match(text, /^ {2}too big \(MTU\) {7}1280 1400 {21}-$/m);
  assert.match(text, /^ {4}client --SYN-----> A \[mss 1460\] {6}----> B \[mss 1380\] \* {4}--> server$/m);
  assert.match(text, /^handshake 2\/2 .* only at A$/m);
  assert.match(text, /^ {2}- Seen only at A/m);
  assert.match(
    text,
    /\n2 handshakes: 1 matched, 1 only at A, 0 only at B; 1 changed between A and B \(syn-mss 1, synack-mss 1, client-address 1, client-port 1\)\n$/,
  );
});

test('text: colour marks changed values with ANSI codes instead of *', () => {
  const text = renderText(sample(), true, { colour: true });
  assert.match(text, /\u001b\[1;33m1460\u001b\[0m/);
  assert.doesNotMatch(text, /1460 \*/);
});

test('colour only on a terminal and not under NO_COLOR', () => {
  assert.equal(wantsColour({ isTTY: true }, {}), true);
  assert.equal(wantsColour({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(wantsColour({ isTTY: false }, {}), false);
  assert.equal(wantsColour({}, {}), false);
});

test('one capture: one column, no "only at" and a count of answered handshakes', () => {
  const a = [handshake(), handshake({ index: 1, clientPort: 5, synAck: null })];
  const text = renderText(
    buildReport(
      a.map((h) => ({ a: h, b: null, score: 0 })),
      false,
    ),
    false,
    { colour: false },
  );
  assert.doesNotMatch(text, /only at|B \(server side\)/);
  assert.match(text, /\n2 handshakes \(1 answered\)\n$/);
});

test('streamed output equals the whole document: JSON parses to the same report, text is the same text', () => {
  let json = '';
  writeJsonReport(samplePairs(), true, (t) => (json += t));
  assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(sample())));
  let empty = '';
  writeJsonReport([], true, (t) => (empty += t));
  assert.deepEqual(JSON.parse(empty), { handshakes: [] });
  let text = '';
  writeTextReport(samplePairs(), true, { colour: false }, (t) => (text += t));
  assert.equal(text, renderText(sample(), true, { colour: false }));
});
