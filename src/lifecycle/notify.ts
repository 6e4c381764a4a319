// systemd's notification protocol (sd_notify(3)): readiness, reload, stop and watchdog messages as
// datagrams to $NOTIFY_SOCKET, sent by the tiny sd_notify addon (addon/src/sd_notify.cc) because Node
// cannot send on an AF_UNIX datagram socket. Without NOTIFY_SOCKET (not under systemd, or a unit
// that is not Type=notify) every call is a no-op. A failed send is logged once and never thrown: the
// daemon keeps forwarding packets whatever its supervisor hears.
import type { Logger } from '../log/logger.js';
import type { SdNotifyBinding } from '../native/contract.js';

export type { SdNotifyBinding };

export interface NotifierOptions {
  /** Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** From loadSdNotify() (src/native/load.ts), or a double; undefined when the addon is not built. */
  readonly binding: SdNotifyBinding | undefined;
  readonly logger?: Logger;
  /** Default process.pid; compared with WATCHDOG_PID. */
  readonly pid?: number;
}

/** systemd's MONOTONIC_USEC: CLOCK_MONOTONIC in microseconds (libuv's hrtime reads CLOCK_MONOTONIC). */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

export class SystemdNotifier {
  /** The socket address, or undefined when notifications are off. */
  readonly socketPath: string | undefined;
  /** Half of WATCHDOG_USEC (sd_watchdog_enabled(3)'s advice), when this process is the one watched. */
  readonly watchdogIntervalMs: number | undefined;
  private readonly binding: SdNotifyBinding | undefined;
  private readonly logger: Logger | undefined;
  private failureLogged = false;

  constructor(options: NotifierOptions) {
    const env = options.env ?? process.env;
    this.logger = options.logger;
    const socket = env['NOTIFY_SOCKET'];
    if (socket === undefined || socket === '') {
      this.socketPath = undefined;
      this.binding = undefined;
      this.watchdogIntervalMs = undefined;
      return;
    }
    this.socketPath = socket;
    this.binding = options.binding;
    if (this.binding === undefined) {
      this.logger?.warn('NOTIFY_SOCKET is set but the sd_notify addon is not built: systemd will not hear readiness', {
        code: 'ERR_SD_NOTIFY_MISSING',
        fix: 'build the addon (npm ci runs node-gyp for addon/binding.gyp, target sd_notify)',
      });
    }
    this.watchdogIntervalMs = watchdogInterval(env, options.pid ?? process.pid);
  }

  /** True when messages go somewhere. */
  get enabled(): boolean {
    return this.socketPath !== undefined && this.binding !== undefined;
  }

  /** Start-up (or a reload) finished: the queue is bound and packets are handled. */
  ready(status?: string): boolean {
    return this.send(status === undefined ? 'READY=1' : `READY=1\nSTATUS=${oneLine(status)}`);
  }

  /**
   * A reload (SIGHUP) began. systemd 253+ waits for READY=1 before `systemctl reload` returns, and
   * takes MONOTONIC_USEC to tell this reload from an earlier one; older systemd ignores both. Call
   * ready() when the reload is done, whether the new config was taken or rejected.
   */
  reloading(status?: string): boolean {
    let msg = `RELOADING=1\nMONOTONIC_USEC=${monotonicUsec()}`;
    if (status !== undefined) msg += `\nSTATUS=${oneLine(status)}`;
    return this.send(msg);
  }

  stopping(status?: string): boolean {
    return this.send(status === undefined ? 'STOPPING=1' : `STOPPING=1\nSTATUS=${oneLine(status)}`);
  }

  status(text: string): boolean {
    return this.send(`STATUS=${oneLine(text)}`);
  }

  /**
   * Ping WATCHDOG=1 every watchdogIntervalMs while isAlive() says the daemon works (e.g. the queue is
   * still bound and batches are answered); a missed ping lets systemd restart a wedged daemon. The
   * timer itself proves the event loop runs. Returns the stop function; a no-op without a watchdog.
   */
  startWatchdog(isAlive: () => boolean = () => true): () => void {
    const interval = this.watchdogIntervalMs;
    if (interval === undefined || !this.enabled) return () => {};
    const timer = setInterval(() => {
      if (isAlive()) this.send('WATCHDOG=1');
    }, interval);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Send raw newline-separated assignments. False when off or when the send failed. */
  send(message: string): boolean {
    if (this.socketPath === undefined || this.binding === undefined) return false;
    try {
      this.binding.sdNotify(this.socketPath, message);
      return true;
    } catch (err) {
      if (!this.failureLogged) {
        this.failureLogged = true;
        this.logger?.warn('systemd notification failed (further failures are not logged)', { err, socket: this.socketPath });
      }
      return false;
    }
  }
}

/** STATUS= ends at a newline: a value must not inject other assignments. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usecText = env['WATCHDOG_USEC'];
  if (usecText === undefined || !/^\d+$/.test(usecText)) return undefined;
  const usec = Number(usecText);
  if (usec <= 0) return undefined;
  // WATCHDOG_PID names the process systemd watches; a child that inherited the variables is not it.
  const watched = env['WATCHDOG_PID'];
  if (watched !== undefined && watched !== '' && Number(watched) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}
