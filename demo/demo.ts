// `npm run demo` (as root): the whole story in a few seconds on a fresh machine. Builds a client,
// a router and a server in network namespaces, installs the NFQUEUE rules and starts the daemon in
// the router (set MSS 1380), opens real TCP connections over IPv4 and IPv6, and prints the MSS each
// end sent and received (captured with tcpdump at both ends) and a few metric lines. Everything it
// created is removed at the end, also on failure or Ctrl-C.
import { Lab } from '../test/lab/lab.js';
import { CLI, Peers, applyRules, captureBothEnds, flowKey, scrape, startDaemon } from '../test/daemon/daemon-lab.js';

const RULE_ARGS = ['--queue', '0', '--set-mss', '1380'];

async function main(): Promise<void> {
  console.log('Creating namespaces: client <-> router <-> server (links MTU 1500) ...');
  const lab = await Lab.create({ tag: 'demo' });
  const cleanUp = (): void => void lab.destroy().then(() => process.exit(130));
  process.once('SIGINT', cleanUp);
  try {
    const { stdout: commands } = await lab.exec('router', process.execPath, [CLI, 'rules', ...RULE_ARGS]);
    console.log(`\nFirewall rules in the router (mssmangler rules ${RULE_ARGS.join(' ')} --apply):\n${indent(commands)}`);
    await applyRules(lab, RULE_ARGS);
    console.log(`Starting the daemon in the router: mssmangler run ${RULE_ARGS.join(' ')}`);
    await startDaemon(lab, RULE_ARGS);
    const peers = await Peers.start(lab);

    const capture = await captureBothEnds(lab, 'tcp');
    const connections = [await peers.transfer(4, 10_000), await peers.transfer(6, 10_000)];
    const { client, server } = await capture.stop();

    console.log('\nTCP handshakes through the router (MSS option, from tcpdump at each end):');
    console.log('  family  SYN: client sent -> server got   SYN/ACK: server sent -> client got');
    for (const c of connections) {
      const key = flowKey(c);
      const cell = (v: number | undefined) => String(v ?? '?').padStart(4);
      console.log(
        `  IPv${c.family}         ${cell(client.syn.get(key))}    ->     ${cell(server.syn.get(key))}` +
          `              ${cell(server.synAck.get(key))}    ->     ${cell(client.synAck.get(key))}`,
      );
    }
    console.log(`  (${connections.map((c) => `IPv${c.family}: ${c.received} bytes delivered`).join(', ')})`);

    const metrics = await scrape(lab);
    const interesting = metrics
      .split('\n')
      .filter((l) => /^mssmangler_(packets_total|mss_(before|after)_bytes_(sum|count))\{/.test(l) && !/ 0$/.test(l));
    console.log(`\nA few lines of http://127.0.0.1:9465/metrics (inside the router):\n${indent(interesting.join('\n'))}`);
  } finally {
    process.off('SIGINT', cleanUp);
    await lab.destroy();
    console.log('\nCleaned up: namespaces, daemon, rules and captures are gone.');
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
