#!/usr/bin/env bash
# Soak: COUNT SYNs (default 10,000,000) at RATE per second (default 15000, about half of what the
# daemon rewrites on this shared 2-core box) through one daemon. Every 10 s the daemon's VmRSS is
# sampled. At the end: every SYN reached the server rewritten (no loss, no fail-open pass), the daemon
# is alive, and RSS after warm-up (the first WARMUP seconds, default 60) grew by less than 5%.
# The queue is 65536 long (--queue-maxlen): a moderate rate on a busy shared box still sees the daemon
# descheduled for tens of milliseconds; the default 4096 would let fail-open pass a few packets then.
# QUEUES=FIRST:LAST runs one queue worker per queue (--queue-balance on the rule and the daemon) and
# SOURCES (default 256 then) client addresses, so the address hash spreads the SYNs; every queue must
# carry a share. One queue (QUEUES=0, one source address) is the default.
# Run as root after `npm run build`: [QUEUES=0:1] bash scripts/soak.sh [COUNT] [RATE]
set -euo pipefail
if [[ "${QUEUES:-0}" == *:* ]]; then SOURCES=${SOURCES:-256}; fi
. "$(dirname "$0")/reliability-lab.sh"
COUNT=${1:-10000000}
RATE=${2:-15000}
WARMUP=${WARMUP:-60}
bash "$ROOT/scripts/build-tools.sh"
trap lab_destroy EXIT
lab_create soak
daemon_start --queue-maxlen 65536
echo "date: $(date -u '+%F %H:%M UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg); nproc $(nproc); $COUNT SYNs at $RATE/s; queues $QUEUES; sources $SOURCES"
start=$(date +%s)
syngen --count "$COUNT" --rate "$RATE" >"/tmp/mm-soak-$$.syngen" &
SG=$!
warm=; last=; max_after=0; samples=0; slow=0
while kill -0 "$SG" 2>/dev/null; do
  sleep 10
  now=$(( $(date +%s) - start )); r=$(rss_kb); samples=$((samples + 1))
  mod=$(metric_outcome modified)
  echo "t=${now}s rss=${r}kB modified=$mod load=$(cut -d' ' -f1 /proc/loadavg)"
  if [ "$now" -ge "$WARMUP" ]; then
    [ -z "$warm" ] && warm=$r
    [ "$r" -gt "$max_after" ] && max_after=$r
  fi
  last=$r
done
wait "$SG"
sleep 2
sg=$(cat "/tmp/mm-soak-$$.syngen"); rm -f "/tmp/mm-soak-$$.syngen"
sent=$(node -pe "JSON.parse('$sg').sent")
alive=no; kill -0 "$DAEMON_PID" && alive=yes
read -r set sent_mss <<<"$(server_counts)"
read -r waiting qdrop udrop id <<<"$(kernel_queue)"
handled=$(metric_sum mssmangler_packets_total); mod=$(metric_outcome modified)
echo "soak: syngen $sg"
echo "daemon alive: $alive; handled $handled, modified $mod; kernel id_sequence $id, waiting $waiting, queue_dropped $qdrop, user_dropped $udrop"
echo "server: MSS $MSS_SET $set, MSS $MSS_SENT $sent_mss (unmodified), lost $((sent - set - sent_mss))"
per_queue=; each_carried=yes
for q in $(seq "$QUEUE_FIRST" "$QUEUE_LAST"); do
  n=$(queue_received "$q"); per_queue="$per_queue queue $q: $n;"
  [ "$n" -gt 0 ] || each_carried=no
done
echo "per queue (received):$per_queue"
echo "RSS: after warm-up (${WARMUP}s) ${warm:-?} kB, max after warm-up $max_after kB, last $last kB, end $(rss_kb) kB"
[ -n "$warm" ] && echo "RSS growth after warm-up: $(node -pe "(100 * ($max_after - $warm) / $warm).toFixed(2)")% (max), $(node -pe "(100 * ($last - $warm) / $warm).toFixed(2)")% (last)"
[ "$alive" = yes ] && [ "$set" -eq "$sent" ] && [ "$each_carried" = yes ]
