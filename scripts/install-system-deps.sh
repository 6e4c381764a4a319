#!/usr/bin/env bash
# Installs the Debian packages the lab tests, the demo, the benchmark and the addon checks need and a fresh machine lacks.
# Idempotent: does nothing when every tool is already there. Needs root (the labs need root anyway).
#   --build    only what `npm ci` needs to build the addon (a compiler, make, python3 for node-gyp);
#              npm's preinstall hook runs this, so `npm ci` works on a machine without a compiler.
#   --if-root  as a user other than root, name what is missing and exit 0 instead of failing: npm's
#              pretest hook runs this, so the unit tests still run for an unprivileged user.
set -euo pipefail

build_only=0
if_root=0
for arg in "$@"; do
  case "$arg" in
    --build) build_only=1 ;;
    --if-root) if_root=1 ;;
    *) echo "install-system-deps: unknown option $arg; use --build and/or --if-root" >&2; exit 2 ;;
  esac
done

need=()
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
# dumpcap (native pcapng captures) and editcap (format conversion) for the capture reader's lab test.
command -v dumpcap >/dev/null 2>&1 || need+=(wireshark-common)
command -v editcap >/dev/null 2>&1 || need+=(wireshark-common)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v capsh >/dev/null 2>&1 || need+=(libcap2-bin)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v mandoc >/dev/null 2>&1 || need+=(mandoc)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# g++ also builds the sanitizer driver (test/addon/); its libasan and libubsan come with it.
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v setcap >/dev/null 2>&1 || need+=(libcap2-bin)
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
# The addon's C++ style check (npm run format:addon:check, test/addon/format.test.ts).
command -v clang-format >/dev/null 2>&1 || need+=(clang-format)
# The Debian package (npm run package) and its tests: dpkg-deb, dpkg-shlibdeps, strip, lintian, and
# systemd-nspawn for the test that boots a real systemd in a container.
command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev)
command -v strip >/dev/null 2>&1 || need+=(binutils)
command -v lintian >/dev/null 2>&1 || need+=(lintian)
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
# The Docker test (test/docker/): an engine it starts privately, and mmdebstrap for its base images.
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
# One package can provide several of the tools (libcap2-bin, wireshark-common): name it once.
declare -A named=()
unique=()
for package in "${need[@]}"; do
  [ -n "${named[$package]:-}" ] || unique+=("$package")
  named[$package]=1
done
need=("${unique[@]}")
if [ "$build_only" -eq 1 ]; then
  build=()
  for package in "${need[@]}"; do
    case "$package" in g++ | make | python3) build+=("$package") ;; esac
  done
  need=("${build[@]}")
  [ ${#need[@]} -gt 0 ] || exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${need[*]}; run as root to install them" >&2
  if [ "$if_root" -eq 1 ]; then
    echo "install-system-deps: going on without them (tests that need them will fail)" >&2
    exit 0
  fi
  exit 1
fi
echo "install-system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
