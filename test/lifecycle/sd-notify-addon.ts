// The sd_notify addon for tests. Uses addon/build/Release/sd_notify.node when the project's build made
// it (a target of addon/binding.gyp); otherwise builds addon/src/sd_notify.cc once into a temp dir
// with node-gyp (the copy npm ships), with the same settings that target uses. ~2 s.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SdNotifyBinding } from '../../src/native/contract.js';
import { SD_NOTIFY_ADDON_PATH } from '../../src/native/load.js';

const require = createRequire(import.meta.url);
const repo = fileURLToPath(new URL('../../../', import.meta.url));

function nodeGyp(): string {
  const fromNpm = process.env['npm_config_node_gyp'];
  if (fromNpm !== undefined && existsSync(fromNpm)) return fromNpm;
  return join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

export function sdNotifyGyp(includeDir: string): string {
  return JSON.stringify(
    {
      targets: [
        {
          target_name: 'sd_notify',
          sources: ['sd_notify.cc'],
          include_dirs: [includeDir],
          defines: ['NAPI_VERSION=8', 'NAPI_DISABLE_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
          cflags_cc: ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu++17'],
        },
      ],
    },
    null,
    2,
  );
}

let built: string | undefined;

/** Path of a loadable sd_notify.node. */
export function sdNotifyAddonPath(): string {
  const prebuilt = SD_NOTIFY_ADDON_PATH;
  if (existsSync(prebuilt)) return prebuilt;
  if (built !== undefined) return built;
  const dir = mkdtempSync(join(tmpdir(), 'mssmangler-sd-notify-build-'));
  copyFileSync(join(repo, 'addon', 'src', 'sd_notify.cc'), join(dir, 'sd_notify.cc'));
  writeFileSync(join(dir, 'binding.gyp'), sdNotifyGyp(dirname(require.resolve('node-addon-api/package.json'))));
  const nodedir = process.env['npm_config_nodedir'] ?? dirname(dirname(process.execPath));
  execFileSync(process.execPath, [nodeGyp(), 'rebuild', `--nodedir=${nodedir}`], { cwd: dir, stdio: 'pipe' });
  built = join(dir, 'build', 'Release', 'sd_notify.node');
  return built;
}

export function loadBuiltSdNotify(): SdNotifyBinding {
  return require(sdNotifyAddonPath()) as SdNotifyBinding;
}
