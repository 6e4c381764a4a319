import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, isLogLevel } from '../../src/log/logger.js';
import { LineCapture, settle } from './capture.js';

test('JSON lines: one object per line with level, time, msg and the fields', async () => {
  const out = new LineCapture();
  const log = createLogger({ stream: out, format: 'json', base: { queue: 0 } });
  log.info('bound to queue', { copyRange: 128 });
  log.error('reload failed', { err: Object.assign(new Error('bad yaml'), { code: 'ERR_CONFIG' }) });
  await settle();
  assert.equal(out.lines.length, 2);
  const [a, b] = out.json();
  assert.equal(a!['level'], 'info');
  assert.equal(a!['msg'], 'bound to queue');
  assert.equal(a!['queue'], 0);
  assert.equal(a!['copyRange'], 128);
  assert.ok(!Number.isNaN(Date.parse(a!['time'] as string)));
  assert.deepEqual(Object.keys(a!).slice(0, 3), ['level', 'time', 'msg']);
  assert.deepEqual(b!['err'], { name: 'Error', code: 'ERR_CONFIG', message: 'bad yaml' });
});

test('a field named like a line key does not overwrite it', async () => {
  const out = new LineCapture();
  const log = createLogger({ stream: out, format: 'json' });
  log.info('x', { level: 'mine', msg: 'other', message: 'kept' });
  await settle();
  const [line] = out.json();
  assert.equal(line!['level'], 'info');
  assert.equal(line!['msg'], 'x');
  assert.equal(line!['field_level'], 'mine');
  assert.equal(line!['field_msg'], 'other');
  assert.equal(line!['message'], 'kept');
});

test('levels filter, and the boolean checks follow setLevel (children too)', async () => {
  const out = new LineCapture();
  const log = createLogger({ stream: out, format: 'json', level: 'warn' });
  const child = log.child({ component: 'pmtu' });
  assert.equal(log.isDebugEnabled, false);
  assert.equal(log.isInfoEnabled, false);
  assert.equal(log.isWarnEnabled, true);
  log.info('hidden');
  log.debug('hidden');
  log.warn('shown');
  log.setLevel('debug');
  assert.equal(child.isDebugEnabled, true);
  child.debug('child debug');
  log.setLevel('error');
  assert.equal(child.isWarnEnabled, false);
  child.warn('hidden');
  log.error('err');
  await settle();
  assert.deepEqual(
    out.json().map((l) => [l['level'], l['msg'], l['component']]),
    [
      ['warn', 'shown', undefined],
      ['debug', 'child debug', 'pmtu'],
      ['error', 'err', undefined],
    ],
  );
});

test('text format for a terminal: time, level, message, key=value', async () => {
  const out = new LineCapture();
  out.isTTY = true;
  const log = createLogger({ stream: out });
  log.warn('rule vpn: 3 changed', { rule: 'vpn', note: 'two words', n: 3 });
  await settle();
  assert.match(out.lines[0]!, /^\d{4}-\d\d-\d\dT\S+Z WARN {2}rule vpn: 3 changed rule=vpn note="two words" n=3$/);
});

test('format auto writes JSON when the stream is not a terminal', async () => {
  const out = new LineCapture();
  createLogger({ stream: out }).info('hi');
  await settle();
  assert.equal(out.json()[0]!['msg'], 'hi');
});

test('isLogLevel accepts exactly error, warn, info, debug', () => {
  for (const l of ['error', 'warn', 'info', 'debug']) assert.ok(isLogLevel(l));
  for (const l of ['verbose', 'silly', 'http', 'INFO', '']) assert.ok(!isLogLevel(l));
});

test('a line logged right before process.exit() reaches a piped stdout (fatal errors are not lost)', async () => {
  const { spawnSync } = await import('node:child_process');
  const loggerUrl = new URL('../../src/log/logger.js', import.meta.url).href;
  const script = `import(${JSON.stringify(loggerUrl)}).then(({ createLogger }) => {
    createLogger({}).error('fatal', { code: 'ERR_X' });
    process.exit(3);
  });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 3, r.stderr);
  const line = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
  assert.equal(line['msg'], 'fatal');
  assert.equal(line['code'], 'ERR_X');
});
