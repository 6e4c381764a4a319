// An in-memory mangle table per binary that answers the guard's commands the way iptables does where
// it matters: -S prints each rule in its own spelling (not the one it was given: matches reordered,
// flag masks spelt out), -A appends, -D deletes the first rule with the same meaning, and a missing
// rule makes -D fail. Tests add failures and watch how many commands run at once.
import type { CommandResult, CommandRunner, FirewallBinary } from '../../src/firewall/runner.js';

export type Failure = (binary: FirewallBinary, args: readonly string[]) => CommandResult | undefined;

/** The printed form: "-p tcp" moves to the end and flag masks are spelt FIN,SYN,RST,ACK like iptables. */
export function printed(spec: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < spec.length; i++) {
    if (spec[i] === '-p' && spec[i + 1] === 'tcp') {
      i++;
      continue;
    }
    out.push(spec[i] === 'SYN,ACK,RST,FIN' ? 'FIN,SYN,RST,ACK' : spec[i] === 'SYN,RST,FIN' ? 'FIN,SYN,RST' : spec[i]!);
  }
  return [...out, '-p', 'tcp'];
}

export class FakeIptables {
  /** Per binary, rules as "-A CHAIN ..." printed lines. */
  readonly tables = new Map<string, string[]>([
    ['iptables', []],
    ['ip6tables', []],
  ]);
  readonly commands: string[] = [];
  failure: Failure | undefined;
  inFlight = 0;
  maxInFlight = 0;

  readonly runner: CommandRunner = async (binary, args) => {
    this.commands.push(`${binary} ${args.join(' ')}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      // A real command takes a while: let anything else that wants to run start meanwhile.
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      return this.failure?.(binary, args) ?? this.execute(binary, args);
    } finally {
      this.inFlight--;
    }
  };

  rules(binary: string): string[] {
    return this.tables.get(binary)!;
  }

  /** Someone else's rule, in printed form. */
  addForeign(binary: string, line: string): void {
    this.rules(binary).push(line);
  }

  flush(binary: string): void {
    this.tables.set(binary, []);
  }

  private execute(binary: string, args: readonly string[]): CommandResult {
    const [t, table, op, chain, ...spec] = args;
    if (t !== '-t' || table !== 'mangle') return { code: 2, stdout: '', stderr: `unexpected ${args.join(' ')}` };
    const rules = this.rules(binary);
    if (op === '-S') {
      const policies = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'].map((c) => `-P ${c} ACCEPT`);
      return { code: 0, stdout: [...policies, ...rules].join('\n') + '\n', stderr: '' };
    }
    // Given as we write them (-p tcp first) or as -S printed them: compare in printed form.
    const line = `-A ${chain} ${(spec[0] === '-p' ? printed(spec) : spec).join(' ')}`;
    if (op === '-A') {
      rules.push(line);
      return { code: 0, stdout: '', stderr: '' };
    }
    if (op === '-D') {
      const i = rules.indexOf(line);
      if (i < 0) return { code: 1, stdout: '', stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' };
      rules.splice(i, 1);
      return { code: 0, stdout: '', stderr: '' };
    }
    return { code: 2, stdout: '', stderr: `unexpected ${op}` };
  }
}
