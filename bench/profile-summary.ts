// Where the mssmangler consumer's time goes: the self time of each function in a V8 .cpuprofile
// (written by node --cpu-prof), heaviest first, as a share of the time the process was not idle.
// "(program)" is native code V8 cannot attribute to a JavaScript function: the addon, libuv, syscalls.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

const IDLE = '(idle)';

export function summariseProfile(file: string, root: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const usPerSample = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  const selfUs = new Map<string, number>();
  let busyUs = 0;
  for (const node of profile.nodes) {
    const us = (node.hitCount ?? 0) * usPerSample;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === IDLE) continue;
    const where = url ? `${relative(root, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'} ${where}`.trim();
    selfUs.set(name, (selfUs.get(name) ?? 0) + us);
    busyUs += us;
  }
  const lines = [
    `busy ${(busyUs / 1e6).toFixed(2)} s of ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s profiled; self time:`,
  ];
  for (const [name, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`  ${((us / busyUs) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
  return lines.join('\n');
}
