import { test } from 'node:test';
import assert from 'node:assert/strict';

test('the test runner runs TypeScript compiled to dist/', () => {
  assert.equal(typeof process.version, 'string');
});
