#!/usr/bin/env bash
# Shared plumbing for scripts/overload.sh and scripts/soak.sh (sourced, not run): a client <-> router
# <-> server lab in its own network namespaces, the firewall rules `mssmangler rules --apply` prints,
# the daemon in the router, and kernel counters at the server (SYNs by MSS, then dropped so the server
# answers nothing). Addresses are documentation prefixes (RFC 5737) that exist only inside the lab.
# Everything is removed by lab_destroy, which the scripts run from an EXIT trap.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MSS_SET=1380
MSS_SENT=1460
# QUEUES: one queue number (default 0), or FIRST:LAST for one queue worker per queue behind
# --queue-balance on both the rule and the daemon. Set before lab_create.
QUEUES=${QUEUES:-0}
if [[ "$QUEUES" == *:* ]]; then QUEUE_ARGS=(--queue-balance "$QUEUES"); else QUEUE_ARGS=(--queue "$QUEUES"); fi
QUEUE_FIRST=${QUEUES%%:*}; QUEUE_LAST=${QUEUES##*:}
# SOURCES: client source addresses syngen cycles through, from 198.51.100.10 (the client's /24).
# iptables balances on a hash of the addresses, so one address would feed one queue only.
SOURCES=${SOURCES:-1}

lab_create() {
  local tag=$1
  NS_C="mm-$tag-$$-c"; NS_R="mm-$tag-$$-r"; NS_S="mm-$tag-$$-s"
  for ns in "$NS_C" "$NS_R" "$NS_S"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
  ip -n "$NS_R" link add toc type veth peer name eth0 netns "$NS_C"
  ip -n "$NS_R" link add tos type veth peer name eth0 netns "$NS_S"
  ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$NS_C" addr add 198.51.100.2/24 dev eth0; ip -n "$NS_C" link set eth0 up
  ip -n "$NS_R" addr add 198.51.100.1/24 dev toc; ip -n "$NS_R" link set toc up
  ip -n "$NS_R" addr add 203.0.113.1/24 dev tos; ip -n "$NS_R" link set tos up
  ip -n "$NS_S" addr add 203.0.113.2/24 dev eth0; ip -n "$NS_S" link set eth0 up
  ip -n "$NS_C" route add default via 198.51.100.1
  ip -n "$NS_S" route add default via 203.0.113.1
  # Permanent neighbours: no ARP between bursts.
  local m
  m=$(ip -n "$NS_R" -j link show dev toc | node -pe 'JSON.parse(require("fs").readFileSync(0))[0].address')
  ip -n "$NS_C" neigh replace 198.51.100.1 lladdr "$m" dev eth0 nud permanent
  m=$(ip -n "$NS_C" -j link show dev eth0 | node -pe 'JSON.parse(require("fs").readFileSync(0))[0].address')
  ip -n "$NS_R" neigh replace 198.51.100.2 lladdr "$m" dev toc nud permanent
  m=$(ip -n "$NS_R" -j link show dev tos | node -pe 'JSON.parse(require("fs").readFileSync(0))[0].address')
  ip -n "$NS_S" neigh replace 203.0.113.1 lladdr "$m" dev eth0 nud permanent
  m=$(ip -n "$NS_S" -j link show dev eth0 | node -pe 'JSON.parse(require("fs").readFileSync(0))[0].address')
  ip -n "$NS_R" neigh replace 203.0.113.2 lladdr "$m" dev tos nud permanent
  # Server: count SYNs to port 80 by MSS, then drop them (no RST back through the router).
  ip netns exec "$NS_S" iptables -A INPUT -p tcp --syn --dport 80 -m tcpmss --mss $MSS_SET -m comment --comment set
  ip netns exec "$NS_S" iptables -A INPUT -p tcp --syn --dport 80 -m tcpmss --mss $MSS_SENT -m comment --comment sent
  ip netns exec "$NS_S" iptables -A INPUT -p tcp --dport 80 -j DROP
  ip netns exec "$NS_R" node "$ROOT/dist/src/cli/main.js" rules --apply "${QUEUE_ARGS[@]}" --set-mss $MSS_SET --direction syn --family 4 >/dev/null
}

DAEMON_PID=
# daemon_start [extra run flags...]: starts the daemon in the router, waits for "started".
daemon_start() {
  DAEMON_LOG=${DAEMON_LOG:-/tmp/mm-daemon-$$.log}
  ip netns exec "$NS_R" node "$ROOT/dist/src/cli/main.js" run "${QUEUE_ARGS[@]}" --set-mss $MSS_SET --direction syn \
    --metrics-listen 127.0.0.1:9465 "$@" >"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 100); do grep -q '"started"' "$DAEMON_LOG" && return 0; sleep 0.1; done
  echo "daemon did not start: $(cat "$DAEMON_LOG")" >&2; return 1
}

lab_destroy() {
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; fi
  for ns in "$NS_C" "$NS_R" "$NS_S"; do ip netns del "$ns" 2>/dev/null || true; done
}

syngen() {
  local src=198.51.100.2
  [ "$SOURCES" -gt 1 ] && src=198.51.100.10
  ip netns exec "$NS_C" "$ROOT/tools/build/syngen" --src $src --src-count "$SOURCES" --dst 203.0.113.2 --dport 80 "$@"
}

# Server counters: "set sent" (SYNs arriving with MSS 1380, with the original 1460).
server_counts() {
  ip netns exec "$NS_S" iptables -nvxL INPUT | awk '/\/\* set \*\//{s=$1} /\/\* sent \*\//{u=$1} END{print s+0, u+0}'
}
# Packets the router's NFQUEUE rule saw (FORWARD, mangle).
queue_rule_packets() { ip netns exec "$NS_R" iptables -t mangle -nvxL FORWARD | awk '/NFQUEUE/{print $1; exit}'; }
# Kernel queue lines, summed over QUEUES: "waiting dropped user_dropped id_sequence".
kernel_queue() {
  ip netns exec "$NS_R" awk -v f="$QUEUE_FIRST" -v l="$QUEUE_LAST" \
    '$1>=f && $1<=l {w+=$3; d+=$6; u+=$7; i+=$8} END{print w+0, d+0, u+0, i+0}' /proc/net/netfilter/nfnetlink_queue
}
# Packets one queue's worker received (mssmangler_queue_received_packets_total{queue="N"}).
queue_received() {
  metrics | awk -v q="queue=\"$1\"" 'index($1, "mssmangler_queue_received_packets_total{")==1 && index($1, q) {s+=$2} END{print s+0}'
}
metrics() { ip netns exec "$NS_R" curl -s -m 1 http://127.0.0.1:9465/metrics; }
# Packets the daemon handled, by outcome (sum of mssmangler_packets_total{outcome=...}).
metric_outcome() { metrics | awk -v o="$1" '$1 ~ /^mssmangler_packets_total/ && $1 ~ "outcome=\""o"\"" {s+=$2} END{print s+0}'; }
metric_sum() { metrics | awk -v m="$1" 'index($1, m)==1 {s+=$2} END{print s+0}'; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$DAEMON_PID/status"; }
