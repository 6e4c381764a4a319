#!/usr/bin/env bash
# Proves the quick start on a machine that lacks the tools: `npm ci && npm run demo` and
# `npm ci && npm test` must install what they need themselves (scripts/install-system-deps.sh, from
# npm's preinstall and pretest hooks and from the demo).
#
# How, without touching this machine: in a private mount namespace, an overlay of the host's root
# (lowerdir=/, upper and work dirs on a tmpfs) is mounted; inside it, and only inside it, the packages of
# the tools are purged with apt-get; then, chrooted into the overlay, the repository's build outputs are
# deleted and the commands run as written. Every write lands in the tmpfs, which vanishes with the
# namespace: the host's packages, files and mounts are unchanged.
#
# Usage, as root, from the repository:
#   bash scripts/fresh-root-check.sh demo   npm ci && npm run demo
#   bash scripts/fresh-root-check.sh lab    npm ci && npm run pretest, then a representative set of
#                                           tests (demo, kernel differential, real Prometheus, man
#                                           pages, alert rules): a few minutes
#   bash scripts/fresh-root-check.sh test   npm ci && npm test, the whole suite
# It needs the Debian mirror and the npm registry, as a fresh machine does.
set -euo pipefail

mode=${1:-}
case "$mode" in
  demo | lab | test) ;;
  *) echo "usage: bash scripts/fresh-root-check.sh demo|lab|test" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-root-check: needs root (mount namespaces, overlay, chroot)" >&2
  exit 1
fi
repo=$(cd "$(dirname "$0")/.." && pwd)

# Purged in the overlay: the lab tools the issue names, and the ones a fresh machine may lack too.
PURGE=(iptables nftables tcpdump tshark prometheus mandoc ethtool g++ make)
# Commands that must be missing after the purge, and present again after the run.
TOOLS=(iptables nft tcpdump tshark prometheus promtool mandoc ethtool g++ make)

if [ "${FRESH_ROOT_INNER:-}" != 1 ]; then
  base=$(mktemp -d /tmp/fresh-root.XXXXXX)
  status=0
  FRESH_ROOT_INNER=1 FRESH_ROOT_BASE="$base" unshare --mount --propagation private -- bash "$0" "$mode" || status=$?
  # The tmpfs and every mount went with the namespace; only the empty mount point is left.
  rmdir "$base"
  exit "$status"
fi

# ---- inside the private mount namespace ----
base=$FRESH_ROOT_BASE
root=$base/root
mount -t tmpfs -o size=12g,mode=0755 fresh-root "$base"
mkdir "$base/upper" "$base/work" "$root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$root"
if [ "$(findmnt -n -o FSTYPE --mountpoint "$root")" != overlay ]; then
  echo "fresh-root-check: $root is not the overlay; stopping before anything is purged" >&2
  exit 1
fi
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"

in_root() { chroot "$root" /usr/bin/env -C "$repo" bash -c "$1"; }

echo "fresh-root-check: purging ${PURGE[*]} inside the overlay" >&2
# apt-get purge also removes what depends on them (build-essential, docker.io, ...), so the overlay is a
# consistent system without the tools, as a fresh machine is, not one with broken dependencies.
in_root "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq ${PURGE[*]} >/dev/null"
for tool in "${TOOLS[@]}"; do
  if in_root "command -v $tool >/dev/null"; then
    echo "fresh-root-check: $tool is still there after the purge" >&2
    exit 1
  fi
done
# The host's own tools are untouched (the purge happened in the overlay only).
for tool in "${TOOLS[@]}"; do
  command -v "$tool" >/dev/null || { echo "fresh-root-check: host lost $tool" >&2; exit 1; }
done
echo "fresh-root-check: absent in the overlay: ${TOOLS[*]}" >&2

# A fresh clone has no build outputs.
in_root "rm -rf node_modules dist addon/build"

started=$(date +%s)
case "$mode" in
  demo) in_root "npm ci --no-audit --no-fund && npm run demo" ;;
  test) in_root "npm ci --no-audit --no-fund && npm test" ;;
  lab)
    in_root "npm ci --no-audit --no-fund && npm run pretest && node --test --test-concurrency=2 \
      dist/test/demo/ dist/test/differential/ dist/test/daemon/prometheus.lab.test.js dist/test/man/ dist/test/contrib/"
    ;;
esac

for tool in "${TOOLS[@]}"; do
  in_root "command -v $tool >/dev/null" || { echo "fresh-root-check: $tool was not installed" >&2; exit 1; }
done
echo "fresh-root-check: $mode passed from a root without ${PURGE[*]}, in $(($(date +%s) - started)) s" >&2
