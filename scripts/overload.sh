#!/usr/bin/env bash
# Overload: measure the daemon's capacity (SYNs per second it rewrites while saturated), then offer
# twice that for DURATION seconds (default 60) with syngen --rate, sampling every second the daemon's
# resident memory (/proc/PID/status VmRSS) and how long /metrics takes to answer (curl, 1 s limit).
# At the end: the daemon is alive, and every SYN is accounted for:
#   offered to the queue (FORWARD NFQUEUE rule counter)
#     = entered the queue (kernel id_sequence) + passed by fail-open at a full queue (no id)
#   entered the queue = handled by the daemon (sum of mssmangler_packets_total)
#                       + passed by fail-open at a full socket (ids the daemon never saw)
#   at the server: MSS 1380 (modified) + MSS 1460 (passed unmodified) = offered, less what the veths dropped.
# The generators share the CPUs with the daemon and cannot always offer twice what it handles; with
# DAEMON_CPU_PERCENT=N the daemon runs in a cgroup (v1 cpu controller) limited to N% of one CPU, which
# lowers its capacity so that twice of it can be offered.
# Run as root after `npm run build`: [DAEMON_CPU_PERCENT=N] bash scripts/overload.sh [DURATION]
set -euo pipefail
. "$(dirname "$0")/reliability-lab.sh"
DURATION=${1:-60}
bash "$ROOT/scripts/build-tools.sh"
CGROUP=
cleanup() {
  lab_destroy
  if [ -n "$CGROUP" ]; then rmdir "$CGROUP" 2>/dev/null || true; fi
}
trap cleanup EXIT
lab_create ovl
daemon_start
if [ -n "${DAEMON_CPU_PERCENT:-}" ]; then
  CGROUP=/sys/fs/cgroup/cpu/mm-ovl-$$
  mkdir "$CGROUP"
  echo 100000 >"$CGROUP/cpu.cfs_period_us"
  echo $((DAEMON_CPU_PERCENT * 1000)) >"$CGROUP/cpu.cfs_quota_us"
  echo "$DAEMON_PID" >"$CGROUP/cgroup.procs"
  echo "daemon limited to ${DAEMON_CPU_PERCENT}% of one CPU (cgroup $CGROUP)"
fi
echo "date: $(date -u '+%F %H:%M UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg); nproc $(nproc)"

# One syngen reaches about the daemon's own rate on two shared cores, so GENERATORS (default 2) run
# in parallel, on separate source-port ranges.
GENERATORS=${GENERATORS:-2}
# gen_parallel COUNT_EACH RATE_EACH OUTFILE: all generators at once; OUTFILE gets one JSON line each.
gen_parallel() {
  local pids=() g
  : >"$3"
  for g in $(seq 0 $((GENERATORS - 1))); do
    syngen --count "$1" --rate "$2" --sport-base $((10000 + g * 25000)) --sport-range 25000 >>"$3" &
    pids+=($!)
  done
  wait "${pids[@]}"
}
sum_sent() { node -e 'let s=0,t=0;for(const l of require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n")){const j=JSON.parse(l);s+=j.sent;t=Math.max(t,j.seconds)}console.log(s,t)' "$1"; }

# 1. Capacity: bursts as fast as the generators go; the daemon is saturated (fail-open passes the
#    rest), so what it rewrites per second of the burst is its capacity here.
CAP_COUNT=${CAP_COUNT:-600000}
before=$(metric_outcome modified)
gen_parallel "$CAP_COUNT" 0 "/tmp/mm-ovl-$$.cap"
sleep 1
after=$(metric_outcome modified)
read -r capsent secs <<<"$(sum_sent "/tmp/mm-ovl-$$.cap")"
capacity=$(node -pe "Math.round(($after - $before) / $secs)")
echo "capacity burst: sent $capsent in $secs s ($(node -pe "Math.round($capsent / $secs)") SYN/s offered); modified $((after - before)) -> capacity ~ $capacity SYN/s"

# 2. Twice the capacity for DURATION seconds.
rate=$((capacity * 2))
count=$((rate * DURATION))
read -r set0 sent0 <<<"$(server_counts)"
rule0=$(queue_rule_packets); read -r _ _ _ id0 <<<"$(kernel_queue)"; t0=$(date +%s)
handled0=$(metric_sum mssmangler_packets_total); mod0=$(metric_outcome modified)
rss0=$(rss_kb)
gen_parallel $((count / GENERATORS)) $((rate / GENERATORS)) "/tmp/mm-ovl-$$.syngen" &
SG=$!
maxrss=0; maxlat=0; slow=0; samples=0; fails=0
while kill -0 "$SG" 2>/dev/null; do
  r=$(rss_kb); [ "$r" -gt "$maxrss" ] && maxrss=$r
  t=$(ip netns exec "$NS_R" curl -s -o /dev/null -m 1 -w '%{time_total} %{http_code}' http://127.0.0.1:9465/metrics || true)
  code=${t#* }; lat=${t% *}
  samples=$((samples + 1))
  if [ "$code" != 200 ]; then fails=$((fails + 1)); fi
  maxlat=$(node -pe "Math.max($maxlat, ${lat:-9})")
  sleep 1
done
wait "$SG"
sleep 2
read -r sent sgsecs <<<"$(sum_sent "/tmp/mm-ovl-$$.syngen")"; rm -f "/tmp/mm-ovl-$$.syngen" "/tmp/mm-ovl-$$.cap"
alive=no; kill -0 "$DAEMON_PID" && alive=yes
read -r set1 sent1 <<<"$(server_counts)"
rule1=$(queue_rule_packets); read -r waiting qdrop udrop id1 <<<"$(kernel_queue)"
handled1=$(metric_sum mssmangler_packets_total); mod1=$(metric_outcome modified)
herr=$(metric_sum mssmangler_handler_errors_total)
offered=$((rule1 - rule0)); entered=$((id1 - id0)); handled=$((handled1 - handled0))
echo "overload: asked $rate SYN/s for ${DURATION}s; sent $sent in $sgsecs s = $(node -pe "Math.round($sent / $sgsecs)") SYN/s offered"
echo "daemon alive: $alive; handler errors $herr; RSS start ${rss0} kB, max ${maxrss} kB, end $(rss_kb) kB"
echo "/metrics: $samples scrapes, $fails not 200 within 1 s, slowest ${maxlat} s"
echo "sent $sent; offered to queue $offered; entered queue $entered; fail-open at full queue $((offered - entered))"
echo "handled by daemon $handled (modified $((mod1 - mod0))); fail-open at full socket (id gaps) $((entered - handled))"
echo "kernel: waiting $waiting, queue_dropped $qdrop, user_dropped $udrop"
echo "server: MSS $MSS_SET $((set1 - set0)), MSS $MSS_SENT $((sent1 - sent0)); sum $((set1 - set0 + sent1 - sent0)) of $offered offered (lost after the queue: $((offered - (set1 - set0 + sent1 - sent0))))"
echo "lost before the router (sent - offered): $((sent - offered))"
[ "$alive" = yes ]
