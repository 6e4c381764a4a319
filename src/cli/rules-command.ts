// `mssmangler rules`: print, apply or remove the firewall rules that feed the queue.
import { ExitCode } from '../errors.js';
import type { FamilyChoice } from '../config/config.js';
import { loadConfig } from '../config/load.js';
import { formatProblem } from '../config/problem.js';
import { applyIptables, formatCommand, iptablesCommands, removeIptables, type ApplyReport } from '../firewall/iptables.js';
import { applyNft, nftScript, removeNft } from '../firewall/nft.js';
import { planFirewall } from '../firewall/plan.js';
import { runCommand as runFirewallCommand } from '../firewall/runner.js';
import { configFlags, type Argv } from './options.js';

function familyOf(argv: Argv): FamilyChoice {
  return argv.family === '4' ? 4 : argv.family === '6' ? 6 : 'both';
}

function printReports(reports: readonly ApplyReport[], verb: 'apply' | 'remove'): void {
  for (const r of reports) {
    const line = r.unchanged
      ? verb === 'apply'
        ? `${r.binary}: already up to date`
        : `${r.binary}: no mssmangler rules installed`
      : verb === 'apply'
        ? `${r.binary}: ${r.added} rule(s) added, ${r.removed} old rule(s) removed`
        : `${r.binary}: ${r.removed} rule(s) removed`;
    process.stdout.write(`${line}\n`);
  }
}

export async function rulesCommand(argv: Argv): Promise<number> {
  const family = familyOf(argv);
  const backend = argv.backend === 'nft' ? 'nft' : 'iptables';
  if (argv.remove === true) {
    if (backend === 'nft') {
      await removeNft(runFirewallCommand);
      process.stdout.write('nft: table inet mssmangler removed\n');
    } else printReports(await removeIptables(family, runFirewallCommand), 'remove');
    return ExitCode.Ok;
  }
  const result = await loadConfig({ file: typeof argv.config === 'string' ? argv.config : null, flags: configFlags(argv) });
  if (!result.ok) {
    for (const problem of result.problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return ExitCode.Usage;
  }
  const plan = planFirewall(result.config, { family, queue: typeof argv.queue === 'number' ? argv.queue : undefined });
  if (plan.length === 0) process.stderr.write(`mssmangler: no rule selects IPv${family} packets; nothing to queue\n`);
  if (argv.apply === true) {
    if (backend === 'nft') {
      await applyNft(plan, runFirewallCommand);
      process.stdout.write(`nft: table inet mssmangler loaded (${plan.length} rule(s))\n`);
    } else printReports(await applyIptables(plan, family, runFirewallCommand), 'apply');
    return ExitCode.Ok;
  }
  if (backend === 'nft') process.stdout.write(nftScript(plan));
  else for (const command of iptablesCommands(plan, '-A')) process.stdout.write(`${formatCommand(command)}\n`);
  return ExitCode.Ok;
}
