// A full garbage collection on demand, for tests that measure memory: the test runner starts files
// without --expose-gc, so the flag is set at run time and the function fetched from a fresh context.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export function forceGc(): void {
  gc();
}
