#!/usr/bin/env bash
# The relay benchmark: one edge relaying STATIONS (100) stations from one origin, on this
# machine (loopback only; everything stops by itself).
#
#   scripts/relay-bench.sh              # progressive relays (relay = "http://origin/sNNN")
#   MODE=hls scripts/relay-bench.sh     # edges of the origin's HLS (relay = ".../sNNN.m3u8")
#
# It measures the edge's CPU (% of one core) and RSS with its relays on air, against the same
# edge without relays (the per-station cost of relaying), then kills the origin and times, per
# station, how long until the edge's status sees it (relay no longer on air) and until the
# station's own audio plays (the relay's buffered audio played out: `now_playing.live` false),
# then starts the origin again and times the takeover (relay on air, its audio playing). Prints
# one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."

STATIONS=${STATIONS:-100}
MODE=${MODE:-stream}
SETTLE_S=${SETTLE_S:-20}
MEASURE_S=${MEASURE_S:-20}
ORIGIN_PORT=18190
EDGE_PORT=18191
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p onair-server
mkdir -p "$WORK/origin" "$WORK/edge"
for i in $(seq -f "%03g" 1 "$STATIONS"); do cp stations/jazz.aac "$WORK/origin/s$i.aac"; done
HLS="[hls]
segment_ms = 2000
window_s = 20"
cat >"$WORK/origin.toml" <<CONF
[server]
listen = "127.0.0.1:$ORIGIN_PORT"
stations_dir = "$WORK/origin"
$HLS
CONF

# The edge: live-only stations of the origin's format, each relaying its origin station.
edge_config() {
  printf '[server]\nlisten = "127.0.0.1:%s"\nstations_dir = "%s"\n%s\n' "$EDGE_PORT" "$WORK/edge" "$HLS"
  printf '[relay]\nretry_min_ms = 500\nretry_max_s = 2\nidle_timeout_s = 3\nedge_delay_s = 8\n'
  for i in $(seq -f "%03g" 1 "$STATIONS"); do
    printf '[stations.s%s]\nlive_only = true\ncodec = "aac"\nsample_rate = 44100\nchannels = 2\n' "$i"
    if [ "$1" = relay ]; then
      if [ "$MODE" = hls ]; then
        printf 'relay = "http://127.0.0.1:%s/s%s.m3u8"\n' "$ORIGIN_PORT" "$i"
      else
        printf 'relay = "http://127.0.0.1:%s/s%s"\n' "$ORIGIN_PORT" "$i"
      fi
    fi
  done
}

wait_up() {
  for _ in $(seq 1 200); do
    [ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://127.0.0.1:$1/healthz" || true)" = 200 ] && return
    sleep 0.1
  done
  echo "server on port $1 did not come up" >&2
  exit 1
}

# CPU seconds (user + system) and RSS (KiB) of a process.
cpu_s() { awk '{print ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# Runs the edge with config $1 ("relay" or "none"); writes "cpu_percent rss_kib" to $WORK/$1.
measure_edge() {
  edge_config "$1" >"$WORK/edge.toml"
  RUST_LOG=warn target/release/onair --config "$WORK/edge.toml" >"$WORK/edge-$1.log" 2>&1 &
  EDGE_PID=$!
  wait_up "$EDGE_PORT"
  sleep "$SETTLE_S"
  local c0 c1
  c0=$(cpu_s "$EDGE_PID")
  sleep "$MEASURE_S"
  c1=$(cpu_s "$EDGE_PID")
  echo "$(awk -v a="$c0" -v b="$c1" -v s="$MEASURE_S" 'BEGIN {printf "%.1f", (b - a) * 100 / s}') $(rss_kib "$EDGE_PID")" >"$WORK/$1"
}

RUST_LOG=warn target/release/onair --config "$WORK/origin.toml" >"$WORK/origin.log" 2>&1 &
ORIGIN_PID=$!
wait_up "$ORIGIN_PORT"
measure_edge none
kill "$EDGE_PID"; wait "$EDGE_PID" 2>/dev/null || true
measure_edge relay
read -r BASE_CPU BASE_RSS <"$WORK/none"
read -r RELAY_CPU RELAY_RSS <"$WORK/relay"

# Death and return, timed per station from the edge's /status.json.
python3 - "$EDGE_PORT" "$ORIGIN_PID" "$STATIONS" "$WORK" "$MODE" "$BASE_CPU" "$BASE_RSS" "$RELAY_CPU" "$RELAY_RSS" <<'PY'
import json, os, signal, subprocess, sys, time, urllib.request
port, origin_pid, stations, work, mode = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
base_cpu, base_rss, relay_cpu, relay_rss = map(float, sys.argv[6:10])

def status():
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status.json", timeout=5) as r:
        return {s["name"]: s for s in json.load(r)["stations"]}

def relay_on(s):
    return (s.get("relay") or {}).get("state") == "on_air"

def live_audio(s):
    # What plays is the relay's audio (now_playing says "live" while live audio is on air).
    return bool((s.get("now_playing") or {}).get("live"))

def relaying(s):
    return relay_on(s) and live_audio(s)

def wait_both(first, second, within):
    start, seen = time.monotonic(), ({}, {})
    while min(len(seen[0]), len(seen[1])) < stations and time.monotonic() - start < within:
        t = time.monotonic() - start
        for name, s in status().items():
            for pred, got in ((first, seen[0]), (second, seen[1])):
                if name not in got and pred(s):
                    got[name] = t
        time.sleep(0.05)
    return sorted(seen[0].values()), sorted(seen[1].values())

def wait_all(pred, within):
    start, seen = time.monotonic(), {}
    while len(seen) < stations and time.monotonic() - start < within:
        t = time.monotonic() - start
        for name, s in status().items():
            if name not in seen and pred(s):
                seen[name] = t
        time.sleep(0.05)
    return sorted(seen.values())

before = status()
on_air = sum(relaying(s) for s in before.values())
os.kill(origin_pid, signal.SIGKILL)
detected, fallback = wait_both(lambda s: not relay_on(s), lambda s: not live_audio(s), 60)
origin = subprocess.Popen(["target/release/onair", "--config", f"{work}/origin.toml"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env={**os.environ, "RUST_LOG": "warn"})
takeover = wait_all(relaying, 90)
origin.kill()

def summary(times):
    if not times:
        return None
    return {"stations": len(times), "median_s": round(times[len(times) // 2], 2), "max_s": round(times[-1], 2)}

print(json.dumps({
    "mode": mode,
    "stations": stations,
    "relaying_before_death": on_air,
    "edge_cpu_percent": relay_cpu,
    "edge_cpu_percent_without_relays": base_cpu,
    "edge_rss_mib": round(relay_rss / 1024, 1),
    "edge_rss_mib_without_relays": round(base_rss / 1024, 1),
    "rss_kib_per_relayed_station": round((relay_rss - base_rss) / stations, 1),
    "death_to_detection": summary(detected),
    "death_to_fallback": summary(fallback),
    "return_to_takeover": summary(takeover),
}, indent=1))
PY
