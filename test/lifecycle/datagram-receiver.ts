// A receiving AF_UNIX datagram socket for tests, in python3 (Node cannot open one): it prints each
// datagram as a JSON line with CLOCK_MONOTONIC in microseconds at arrival.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const SCRIPT = `
import json, socket, sys, time
addr = sys.argv[1]
if addr.startswith('@'):
    addr = '\\0' + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(addr)
print(json.dumps({'ready': True}), flush=True)
while True:
    d = s.recv(65536)
    print(json.dumps({'at': time.monotonic_ns() // 1000, 'msg': d.decode()}), flush=True)
`;

export interface Datagram {
  readonly at: number;
  readonly msg: string;
}

export class DatagramReceiver {
  readonly received: Datagram[] = [];
  private waiters: (() => void)[] = [];

  private constructor(private readonly child: ChildProcess) {}

  /** Bind a receiver on a path or an '@abstract' name; resolves once it is bound. */
  static async start(address: string): Promise<DatagramReceiver> {
    const child = spawn('python3', ['-c', SCRIPT, address], { stdio: ['ignore', 'pipe', 'pipe'] });
    const r = new DatagramReceiver(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`receiver exited ${code}: ${stderr}`)));
      child.once('error', reject);
      lines.on('line', (line) => {
        const o = JSON.parse(line) as { ready?: boolean; at?: number; msg?: string };
        if (o.ready === true) {
          resolve();
          return;
        }
        r.received.push({ at: o.at!, msg: o.msg! });
        for (const w of r.waiters.splice(0)) w();
      });
    });
    return r;
  }

  /** Resolves when at least n datagrams arrived, rejects after timeoutMs. */
  async waitFor(n: number, timeoutMs = 3000): Promise<Datagram[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${n} datagrams, got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received;
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
  }
}
