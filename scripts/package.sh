#!/usr/bin/env bash
# Builds the Debian package OUTDIR/mssmangler_VERSION_ARCH.deb (OUTDIR defaults to dist/) from a staged
# tree with dpkg-deb, unprivileged (--root-owner-group). `npm run package` compiles first; this script
# only assembles what the build left: dist/src, the addon's .node files and the production node_modules.
# A shell script because every step is a file copy or a Debian tool; docs/packaging.md has the layout.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/dist}
deb=$root/packaging/deb

fail() { echo "package: $*" >&2; exit 1; }

for tool in dpkg-deb dpkg-shlibdeps dpkg-parsechangelog strip gzip; do
  command -v "$tool" >/dev/null || fail "$tool is missing: install dpkg-dev and binutils (bash scripts/install-system-deps.sh)"
done
[ -f "$root/dist/src/cli/main.js" ] || fail "dist/src is not built: run npm run build (or npm run package)"
addons=(nfqueue_bindings sd_notify)
for a in "${addons[@]}"; do
  [ -f "$root/addon/build/Release/$a.node" ] || fail "addon/build/Release/$a.node is not built: run npm ci or npm run build:addon"
done

# The version is the top entry of packaging/deb/changelog: package.json's version plus a Debian
# revision, so a packaging fix can ship without a new upstream release.
version=$(dpkg-parsechangelog -l "$deb/changelog" -S Version)
upstream=$(node -p "require('$root/package.json').version")
[ "${version%-*}" = "$upstream" ] ||
  fail "packaging/deb/changelog's top entry is $version but package.json's version is $upstream: add a changelog entry for $upstream-1"
maintainer=$(dpkg-parsechangelog -l "$deb/changelog" -S Maintainer)
arch=$(dpkg --print-architecture)
# Every file gets the changelog entry's time: the same tree gives the same package.
export SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$deb/changelog" -S Timestamp)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/root
lib=$stage/usr/lib/mssmangler
doc=$stage/usr/share/doc/mssmangler
mkdir -p "$lib/dist" "$lib/addon/build/Release" "$stage/usr/bin" "$stage/usr/lib/systemd/system" \
  "$stage/etc/mssmangler" "$doc" "$stage/usr/share/lintian/overrides" "$stage/DEBIAN"

# The JavaScript, found where the sources expect it: dist/src/queue/load.ts loads
# ../../../addon/build/Release/*.node and cli/main.ts reads ../../../package.json.
cp -a "$root/dist/src" "$lib/dist/src"
find "$lib/dist" -name '*.map' -delete
for a in "${addons[@]}"; do
  strip --strip-unneeded --remove-section=.comment -o "$lib/addon/build/Release/$a.node" "$root/addon/build/Release/$a.node"
done
# package.json marks the .js files as ES modules and carries the version `mssmangler --version` prints.
node -e '
  const p = require(process.argv[1]);
  const keep = { name: p.name, version: p.version, description: p.description, license: p.license, type: p.type, private: true };
  process.stdout.write(JSON.stringify(keep, null, 2) + "\n");
' "$root/package.json" >"$lib/package.json"

# Production dependencies only, as npm resolved them in the lock file (no registry access), less
# node-addon-api: C++ headers the addon was compiled with, never loaded at run time.
mapfile -t modules < <(cd "$root" && npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | sed "s|^$root/||" |
  grep -v '^node_modules/node-addon-api$')
[ ${#modules[@]} -gt 0 ] || fail "npm ls found no production node_modules: run npm ci"
for m in "${modules[@]}"; do
  mkdir -p "$lib/$(dirname "$m")"
  [ -d "$lib/$m" ] || cp -a "$root/$m" "$lib/$m"
done
# What a running daemon never reads: documentation, TypeScript sources and declarations, source maps,
# version-control and editor files.
find "$lib/node_modules" -type f \( -iname '*.md' -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \
  -o -name '*.map' -o -name '.npmignore' -o -name '.eslintrc*' -o -name '.travis.yml' -o -name '.editorconfig' -o -name '.git*' \) \
  ! -iname 'licen[cs]e*' -delete
find "$lib/node_modules" -type d -name .github -prune -exec rm -rf {} +
find "$lib/node_modules" -depth -type d -empty -delete

install -m 0755 "$deb/mssmangler.sh" "$stage/usr/bin/mssmangler"
install -m 0644 "$root/systemd/mssmangler.service" "$stage/usr/lib/systemd/system/mssmangler.service"
install -m 0644 "$root/systemd/config.example.yaml" "$stage/etc/mssmangler/config.yaml"
install -m 0644 "$deb/lintian-overrides" "$stage/usr/share/lintian/overrides/mssmangler"
if [ ! -f "$root/man/mssmangler.8" ]; then
  echo '# No man/mssmangler.8 in this tree yet: the man pages are written by a separate change.' >>"$stage/usr/share/lintian/overrides/mssmangler"
  echo 'mssmangler: no-manual-page [usr/bin/mssmangler]' >>"$stage/usr/share/lintian/overrides/mssmangler"
fi
# Man pages when the tree has them (man/mssmangler.8, man/mssmangler.yaml.5).
for page in "$root"/man/*.[1-8]; do
  [ -f "$page" ] || continue
  section=${page##*.}
  mkdir -p "$stage/usr/share/man/man$section"
  gzip -9n <"$page" >"$stage/usr/share/man/man$section/$(basename "$page").gz"
done
gzip -9n <"$deb/changelog" >"$doc/changelog.Debian.gz"
node "$root/dist/scripts/deb-copyright.js" "$root" "${modules[@]}" >"$doc/copyright"

# Debian permissions whatever the umask: directories 0755, files 0644 (node dlopens the addon, which
# needs no execute bit), scripts (a #! line: our CLI, a module's own bin) 0755.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
find "$stage/usr" -type f -exec sh -c 'for f; do [ "$(head -c 2 "$f")" = "#!" ] && chmod 0755 "$f"; done; true' sh {} +

for script in postinst prerm postrm; do
  install -m 0755 "$deb/$script" "$stage/DEBIAN/$script"
done
echo /etc/mssmangler/config.yaml >"$stage/DEBIAN/conffiles"
chmod 0644 "$stage/DEBIAN/conffiles"

# The addon's shared-library dependencies (libc6, libstdc++6), as dpkg-shlibdeps computes them; it
# wants a debian/control to read, so it runs in a scratch directory that has one.
objects=("$lib"/addon/build/Release/*.node)
mkdir -p "$work/shlibs/debian"
printf 'Source: mssmangler\n\nPackage: mssmangler\nArchitecture: any\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps --warnings=0 -O "${objects[@]/#/-e}" | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || fail "dpkg-shlibdeps found no library dependencies for the addon"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
  -e "s|@INSTALLED_SIZE@|$size|" -e "s|@SHLIBS@|$shlibs|" "$deb/control" >"$stage/DEBIAN/control"

find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out/mssmangler_${version}_${arch}.deb" >/dev/null
echo "$out/mssmangler_${version}_${arch}.deb"
