// PLACEHOLDER, written by the CLI/config helper so `mssmangler run` has something to call.
// The lead replaces this module with the run loop (queue + core + rules + metrics + logs).
import type { Config } from '../config/config.js';
import type { ConfigSource } from '../config/load.js';
import { ErrorCode, MssmanglerError } from '../errors.js';

export interface DaemonOptions {
  /** What the configuration was built from: loadConfig(source) again on SIGHUP. */
  readonly source: ConfigSource;
}

export async function startDaemon(config: Config, options?: DaemonOptions): Promise<never | void> {
  void config;
  void options;
  throw new MssmanglerError(ErrorCode.NotImplemented, 'the daemon run loop is not built yet (src/daemon/daemon.ts is a placeholder)');
}
