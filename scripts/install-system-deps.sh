#!/usr/bin/env bash
# Installs the Debian packages the lab tests, the demo and the benchmark need and a fresh machine lacks.
# Idempotent: does nothing when every tool is already there. Needs root (the labs need root anyway).
set -euo pipefail

need=()
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v capsh >/dev/null 2>&1 || need+=(libcap2-bin)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v setcap >/dev/null 2>&1 || need+=(libcap2-bin)
command -v ethtool >/dev/null 2>&1 || need+=(ethtool)
# The Docker test (test/docker/): an engine it starts privately, and mmdebstrap for its base images.
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${need[*]}; run as root to install them" >&2
  exit 1
fi
echo "install-system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
