// Prints /usr/share/doc/mssmangler/copyright in Debian's machine-readable format (DEP-5,
// https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/): mssmangler itself under the
// license in package.json, then one paragraph per bundled node module that the package ships,
// with the copyright lines of that module's own license file and the license its package.json names.
// Called by scripts/package.sh: node dist/scripts/deb-copyright.js ROOT node_modules/a node_modules/b ...
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface PackageJson {
  name: string;
  license?: string;
  author?: string | { name?: string };
}

/** The full text of each license a shipped file is under; Apache-2.0 is in base-files' common-licenses. */
const LICENSE_TEXT: Record<string, string> = {
  MIT: `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:
.
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`,
  ISC: `Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.
.
THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.`,
  'Apache-2.0': `Licensed under the Apache License, Version 2.0 (the "License"); you may not
use this file except in compliance with the License.
.
On Debian systems, the complete text of the Apache License, Version 2.0 can be
found in /usr/share/common-licenses/Apache-2.0.`,
};

/** "Copyright ..." lines of a license file, not the license's own use of the word ("copyright
 * notice", "COPYRIGHT HOLDERS", Apache's "Copyright [yyyy] [name of copyright owner]" template). */
function copyrightLines(moduleDir: string): string[] {
  const file = readdirSync(moduleDir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  if (file === undefined) return [];
  return readFileSync(join(moduleDir, file), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^Copyright\b/.test(l) && !/^Copyright (notice|license|holders|\[yyyy\])/i.test(l));
}

function authorName(pkg: PackageJson): string | undefined {
  const name = typeof pkg.author === 'string' ? pkg.author : pkg.author?.name;
  return name?.replace(/\s*[<(].*$/, '');
}

function readPackage(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** A DEP-5 field value: continuation lines start with a space, empty lines are " .". */
function field(name: string, value: string): string {
  const [first, ...rest] = value.split('\n');
  return [`${name}: ${first}`, ...rest.map((l) => (l === '' || l === '.' ? ' .' : ` ${l}`))].join('\n');
}

function licenseOf(pkg: PackageJson, where: string): string {
  const license = pkg.license ?? '';
  if (!(license in LICENSE_TEXT)) {
    throw new Error(`${where}: license "${license}" has no text in scripts/deb-copyright.ts: add it to LICENSE_TEXT`);
  }
  return license;
}

function main(root: string, modules: readonly string[]): string {
  const project = readPackage(root);
  const used = new Set<string>([licenseOf(project, 'package.json')]);
  const paragraphs = [
    [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      `Upstream-Name: ${project.name}`,
      'Comment: The bundled node modules under usr/lib/mssmangler/node_modules are listed one per paragraph,',
      ' with the copyright lines of their own license files.',
    ].join('\n'),
    [field('Files', '*'), field('Copyright', `2026 ${project.name} contributors`), field('License', project.license!)].join('\n'),
  ];
  for (const rel of [...modules].sort()) {
    const dir = join(root, rel);
    const pkg = readPackage(dir);
    const license = licenseOf(pkg, `${rel}/package.json`);
    used.add(license);
    const lines = copyrightLines(dir);
    const holders =
      lines.length > 0 ? lines.map((l) => l.replace(/^Copyright\s*/, '')).join('\n') : (authorName(pkg) ?? `the ${pkg.name} authors`);
    paragraphs.push([field('Files', `usr/lib/mssmangler/${rel}/*`), field('Copyright', holders), field('License', license)].join('\n'));
  }
  for (const license of [...used].sort()) paragraphs.push(field('License', `${license}\n${LICENSE_TEXT[license]!}`));
  return `${paragraphs.join('\n\n')}\n`;
}

const [root, ...modules] = process.argv.slice(2);
if (root === undefined) {
  process.stderr.write('usage: deb-copyright.js ROOT [node_modules/NAME ...]\n');
  process.exit(2);
}
process.stdout.write(main(root, modules));
