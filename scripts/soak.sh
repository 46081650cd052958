#!/usr/bin/env bash
# The soak: onair under continuous change for SOAK_SECONDS (default 1800 = 30 minutes).
#
#   scripts/soak.sh                 # 30 minutes
#   SOAK_SECONDS=300 scripts/soak.sh
#
# While listeners join and leave continuously (waves of onair-loadgen, plus a few listeners that
# stay for the whole run), station files are added, replaced and removed every few seconds and
# config.toml is edited (chunk size and titles). Every 10 s it samples the server's RSS, open
# descriptors, threads, tokio tasks, listeners and pacer lateness into soak.csv, and at the end it
# says whether memory stayed flat, descriptors and tasks came back, nothing panicked, and the
# pacing drifted less than one frame. Loopback only; everything stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${SOAK_SECONDS:-1800}
PORT=18090
WORK=$(mktemp -d)
OUT=${SOAK_OUT:-$WORK}
mkdir -p "$OUT"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p onair-server -p onair-loadgen
ONAIR=$PWD/target/release/onair
LOADGEN=$PWD/target/release/onair-loadgen

mkdir -p "$WORK/stations" "$WORK/config"
cp stations/jazz.aac stations/ambient.aac "$WORK/stations/"
config() { # chunk_ms title
  cat >"$WORK/config/.config.toml.tmp" <<TOML
[server]
listen = "127.0.0.1:$PORT"
stations_dir = "$WORK/stations"
[pacing]
chunk_ms = $1
[stations.jazz]
title = "$2"
TOML
  mv "$WORK/config/.config.toml.tmp" "$WORK/config/config.toml"
}
config 200 "Soak start"
RUST_LOG=info "$ONAIR" --config "$WORK/config/config.toml" >"$OUT/onair.log" 2>&1 &
PID=$!
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done

END=$((SECONDS + DURATION))
# Listeners who stay for the whole run, on both stations.
"$LOADGEN" --url "http://127.0.0.1:$PORT/jazz" --url "http://127.0.0.1:$PORT/ambient" \
  --listeners 100 --seconds "$DURATION" --ramp-per-sec 100 --json >"$OUT/stayers.json" 2>&1 &
STAYERS=$!
# Waves of listeners joining and leaving.
(
  wave=0
  while [ $SECONDS -lt $((END - 70)) ]; do
    "$LOADGEN" --url "http://127.0.0.1:$PORT/jazz" --url "http://127.0.0.1:$PORT/ambient" --icy \
      --listeners 300 --seconds 60 --ramp-per-sec 20 --json >"$OUT/wave-$wave.json" 2>&1 || true
    wave=$((wave + 1))
  done
) &
# Files come and go: a new station, a replaced one, a removed one, every few seconds.
(
  n=0
  while [ $SECONDS -lt $((END - 10)) ]; do
    cp stations/ambient.aac "$WORK/stations/extra-$((n % 5)).aac"
    sleep 3
    cp stations/jazz.aac "$WORK/stations/.swap.tmp" && mv "$WORK/stations/.swap.tmp" "$WORK/stations/extra-$((n % 5)).aac"
    sleep 3
    rm -f "$WORK/stations/extra-$(((n + 3) % 5)).aac"
    n=$((n + 1))
    sleep 3
  done
) &
# Config edits.
(
  i=0
  while [ $SECONDS -lt $((END - 10)) ]; do
    if [ $((i % 2)) = 0 ]; then config 250 "Soak edit $i"; else config 200 "Soak edit $i"; fi
    i=$((i + 1))
    sleep 15
  done
) &

echo "t_s,rss_kib,fds,threads,tasks,listeners,late_max_ms" >"$OUT/soak.csv"
sample() {
  local t=$1 rss fds threads status tasks listeners late
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  fds=$(ls "/proc/$PID/fd" | wc -l)
  threads=$(awk '/Threads/ {print $2}' "/proc/$PID/status")
  status=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/status.json" || echo '{}')
  tasks=$(echo "$status" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("server",{}).get("tasks",""))' 2>/dev/null || echo "")
  listeners=$(echo "$status" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("server",{}).get("listeners",""))' 2>/dev/null || echo "")
  late=$(curl -s --max-time 2 "http://127.0.0.1:$PORT/metrics" | awk '/^onair_pacer_lateness_max_seconds\{station="(jazz|ambient)"\}/ {if ($2 > m) m = $2} END {printf "%.1f", m * 1000}')
  echo "$t,$rss,$fds,$threads,$tasks,$listeners,$late" >>"$OUT/soak.csv"
}
START=$SECONDS
while [ $SECONDS -lt $END ]; do
  sample $((SECONDS - START))
  sleep 10
done
wait "$STAYERS" || true
sleep 15 # the last wave leaves
sample $((SECONDS - START))
kill -TERM "$PID"; wait "$PID"; CODE=$?

python3 - "$OUT" "$CODE" <<'PY'
import csv, json, sys, glob, os
out, code = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(os.path.join(out, "soak.csv"))))
rss = [int(r["rss_kib"]) for r in rows if r["rss_kib"]]
n = max(1, len(rss) // 5)
first, last = sum(rss[n:2*n]) / n, sum(rss[-2*n:-n]) / n
log = open(os.path.join(out, "onair.log")).read()
stayers = json.load(open(os.path.join(out, "stayers.json")))
waves = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "wave-*.json")))]
print("samples:", len(rows), "| waves:", len(waves), "| wave listeners served:", sum(w["status_200"] for w in waves))
print("RSS KiB: second fifth avg %.0f, fourth fifth avg %.0f (%+.1f%%)" % (first, last, 100 * (last - first) / max(first, 1)))
print("fds: start %s, end %s | tasks: start %s, end %s" % (rows[0]["fds"], rows[-1]["fds"], rows[0]["tasks"], rows[-1]["tasks"]))
print("panics in log:", log.count("panicked"), "| ERROR lines:", log.count(" ERROR "))
print("stayers: %d/%d served, stalls %d, real-time min %.3f p50 %.3f, ended early %d" % (
    stayers["status_200"], stayers["listeners"], stayers["stalls"], stayers["realtime_ratio"]["min"],
    stayers["realtime_ratio"]["p50"], stayers["ended_early"]))
print("pacer lateness max over the run: %s ms (one frame is 23.2 ms)" % max(float(r["late_max_ms"] or 0) for r in rows))
print("exit code after SIGTERM:", code)
PY
echo "samples and logs: $OUT"
