// What the firewall guard (src/firewall/guard.ts) reports, as plain numbers read at scrape time.
import type { FirewallGuardSink } from '../firewall/guard.js';

export class FirewallGuardCounters implements FirewallGuardSink {
  /** Rules put back after they went missing. */
  repairs = 0;
  /** Rules of the current set not present at the last check (or install). */
  missing = 0;
  /** Firewall commands that failed or could not start. */
  commandErrors = 0;

  countRepairs(rules: number): void {
    this.repairs += rules;
  }

  setMissing(rules: number): void {
    this.missing = rules;
  }

  countCommandError(): void {
    this.commandErrors++;
  }
}
