// Child processes a lab test started, tracked by PID so that cleanup can end every one of them even
// when the test fails half-way. `ip netns exec` execs the command, so the PID we hold is the command's.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class TrackedProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Finished>;

  constructor(child: ChildProcess) {
    this.child = child;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => (this.stdout += chunk));
    child.stderr?.on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        this.stderr += String(err);
        resolve({ code: -1, signal: null, stdout: this.stdout, stderr: this.stderr });
      });
      child.on('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once `pattern` shows up in stdout or stderr; rejects on exit or after timeoutMs. */
  async waitFor(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = pattern.exec(this.stdout) ?? pattern.exec(this.stderr);
      if (found) return found[0];
      if (!this.running) {
        throw new Error(`process exited before printing ${pattern}: ${this.stderr.trim() || this.stdout.trim()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; stderr: ${this.stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited after graceMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<Finished> {
    if (this.running) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), graceMs);
      const done = await this.exited;
      clearTimeout(timer);
      return done;
    }
    return this.exited;
  }
}

export class ProcessGroup {
  private readonly processes: TrackedProcess[] = [];

  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): TrackedProcess {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    const tracked = new TrackedProcess(child);
    this.processes.push(tracked);
    return tracked;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop('SIGTERM', 2000)));
  }
}
