#!/usr/bin/env bash
# The live benchmark: LISTENERS listeners (10,000) on one station while a source connects and
# leaves SESSIONS times (20), on this machine, in one run.
#
#   scripts/live-bench.sh
#   LISTENERS=1000 SESSIONS=5 scripts/live-bench.sh
#
# onair (release build) serves stations/jazz.aac with live sources allowed and the default live
# buffer; onair-loadgen holds the listeners for the whole run (--server-pid samples onair's CPU
# and RSS) and checks every byte is a whole frame, nobody is dropped, and the longest gap
# between reads; scripts/live_source.py pushes 3 s of live audio in real time, leaves for 2 s,
# twenty times, and measures the latency from its send to a listener's receive. Loopback only;
# everything stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTENERS=${LISTENERS:-10000}
SESSIONS=${SESSIONS:-20}
LIVE_S=${LIVE_S:-3}
GAP_S=${GAP_S:-2}
RAMP=${RAMP:-2000}
PORT=18090
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p onair-server -p onair-loadgen
mkdir -p "$WORK/stations"
cp stations/jazz.aac "$WORK/stations/"
cat >"$WORK/config.toml" <<CONF
[server]
listen = "127.0.0.1:$PORT"
stations_dir = "$WORK/stations"
[live]
password = "bench"
CONF
# The live audio: pink noise under a tone (every frame different, for the latency probe), in
# the station's format (AAC-LC 44.1 kHz stereo).
ffmpeg -v error -y -f lavfi -i "anoisesrc=color=pink:amplitude=0.2:sample_rate=44100:duration=$((LIVE_S + 1))" \
  -ac 2 -c:a aac -b:a 128k -f adts "$WORK/live.aac"

RUST_LOG=warn target/release/onair --config "$WORK/config.toml" >"$WORK/onair.log" 2>&1 &
ONAIR_PID=$!
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)" = 200 ] && break
  sleep 0.1
done

RAMP_S=$(( (LISTENERS + RAMP - 1) / RAMP + 3 ))
RUN_S=$(( RAMP_S + SESSIONS * (LIVE_S + GAP_S) + 8 ))
target/release/onair-loadgen --url "http://127.0.0.1:$PORT/jazz" --listeners "$LISTENERS" \
  --seconds "$RUN_S" --ramp-per-sec "$RAMP" --server-pid "$ONAIR_PID" --json >"$WORK/loadgen.json" &
LOADGEN=$!
sleep "$RAMP_S"
python3 scripts/live_source.py --port "$PORT" --station jazz --password bench \
  --file "$WORK/live.aac" --sessions "$SESSIONS" --live-seconds "$LIVE_S" --gap-seconds "$GAP_S" \
  >"$WORK/source.json"
wait "$LOADGEN" || true
curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt"

python3 - "$WORK/loadgen.json" "$WORK/source.json" "$WORK/metrics.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
metrics = open(sys.argv[3]).read().splitlines()
def metric(name):
    return sum(float(l.split()[-1]) for l in metrics if l.startswith(name))
server = r.get("server") or {}
print("| listeners | served | dropped | resyncs | garbage bytes | longest gap between reads (p50 / max) | sessions accepted | underruns | latency send to receive (p50 / p99 / max) | onair CPU | onair RSS |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
print("| %d | %d | %d | %d | %d | %.0f / %.0f ms | %d / %d | %d | %s / %s / %s ms | %.0f%% | %.0f MiB |" % (
    r["listeners"], r["status_200"], r["ended_early"] + r["failed"], r["resyncs"], r["garbage_bytes"],
    r["max_gap_ms"]["p50"], r["max_gap_ms"]["max"], s["accepted"], s["sessions"],
    metric("onair_live_underruns_total"), s["latency_ms"]["p50"], s["latency_ms"]["p99"],
    s["latency_ms"]["max"], server.get("cpu_percent", 0.0), server.get("rss_peak_bytes", 0) / 2**20))
print()
print("source:", json.dumps(s))
PY
