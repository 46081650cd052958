#!/usr/bin/env bash
# Replicas behind nginx, measured: starts two onair replicas and Debian's nginx (installed with
# apt when missing) on loopback with deploy/nginx/onair.conf, runs the load generator through
# nginx (HLS players and stream listeners), kills one replica mid-run, and prints the figures
# docs/SCALING.md records. It stops everything it started.
#
#   scripts/scale-out.sh                       # 10,000 HLS players, 1,000 stream listeners, 60 s
#   HLS_CLIENTS=2000 STREAMS=200 RUN_SECONDS=30 scripts/scale-out.sh
#
# Loopback only; every load is bounded in count and time.
set -euo pipefail
cd "$(dirname "$0")/.."

HLS_CLIENTS=${HLS_CLIENTS:-10000}
STREAMS=${STREAMS:-1000}
RUN_SECONDS=${RUN_SECONDS:-60}
KILL_AT=${KILL_AT:-$((RUN_SECONDS / 2))}
PORT=${PORT:-18080}
A=$((PORT + 1))
B=$((PORT + 2))

if ! [ -x /usr/sbin/nginx ]; then
  echo "== installing nginx"
  made_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
  [ -z "$made_policy" ] || rm -f /usr/sbin/policy-rc.d
fi
echo "== building (release)"
cargo build --release -q -p onair-server -p onair-loadgen

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Both replicas: the shipped config, trusting nginx for X-Forwarded-For.
sed 's/^# trusted_proxies = .*/trusted_proxies = ["127.0.0.1"]/' config/config.toml > "$work/config.toml"
ulimit -n "$(ulimit -Hn)"
target/release/onair --config "$work/config.toml" --listen "127.0.0.1:$A" > "$work/a.log" 2>&1 &
pid_a=$!; pids+=("$pid_a")
target/release/onair --config "$work/config.toml" --listen "127.0.0.1:$B" > "$work/b.log" 2>&1 &
pid_b=$!; pids+=("$pid_b")

sed -e "s/listen 8080;/listen 127.0.0.1:$PORT;/" -e "s/127.0.0.1:8081/127.0.0.1:$A/" \
    -e "s/127.0.0.1:8082/127.0.0.1:$B/" -e "s#/var/cache/nginx/onair#$work/cache#" \
    deploy/nginx/onair.conf > "$work/onair.conf"
cat > "$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_rlimit_nofile 65536;
pid $work/nginx.pid;
error_log $work/nginx-error.log error;
events { worker_connections 30000; }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  include $work/onair.conf;
}
CONF
/usr/sbin/nginx -p "$work" -c "$work/nginx.conf" &
pid_nginx=$!; pids+=("$pid_nginx")
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 1

cpu() { # CPU seconds of a process so far
  awk '{print ($14 + $15) / 100}' "/proc/$1/stat" 2>/dev/null || echo 0
}
start_nginx=$(cpu "$pid_nginx"); start_a=$(cpu "$pid_a"); start_b=$(cpu "$pid_b")

# A stream listener on the replica that dies: it reconnects through nginx at once, and the
# audio it gets afterwards is compared with what it had (the same broadcast, so the tail it
# heard must reappear in the new burst, and the offset says what it heard twice or missed).
python3 - "$PORT" "$A" "$KILL_AT" > "$work/reconnect.txt" <<'PY' &
import socket, sys, time
port, replica, kill_at = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def listen():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    # HTTP/1.0: nginx then passes the close-delimited stream as it is (no chunked encoding).
    s.sendall(b"GET /jazz HTTP/1.0\r\nHost: radio.test\r\nUser-Agent: reconnect-probe\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    return s, head.split(b"\r\n\r\n", 1)[1]
def frames(data):
    out, pos = [], 0
    while pos + 7 <= len(data) and data[pos] == 0xFF and data[pos + 1] & 0xF6 == 0xF0:
        n = ((data[pos + 3] & 3) << 11) | (data[pos + 4] << 3) | (data[pos + 5] >> 5)
        if n < 7 or pos + n > len(data): break
        out.append(data[pos:pos + n]); pos += n
    return out
import urllib.request, json
def on_replica():
    st = json.load(urllib.request.urlopen(f"http://127.0.0.1:{replica}/status.json"))
    return sum(x["listeners"] for x in st["stations"])
# Started before any other listener: nginx's least_conn puts the first connection on one
# replica and the second on the other; keep the one on replica A.
s, body = listen()
time.sleep(0.5)
if on_replica() == 0:
    s2, body2 = listen()
    s.close()
    s, body = s2, body2
got = body
s.settimeout(60)
end = time.time() + kill_at + 5
while time.time() < end:
    try:
        chunk = s.recv(65536)
    except OSError:
        chunk = b""
    if not chunk:
        break
    got += chunk
lost_at = time.time()
if time.time() >= end:
    print("the probe's replica did not die while it listened"); sys.exit(0)
s2, body2 = listen()
first_byte = time.time()
s2.settimeout(10)
while len(body2) < 200000:
    body2 += s2.recv(65536)
old, new = frames(got), frames(body2)
tail = old[-20:]
at = next((i for i in range(len(new) - 20) if new[i:i + 20] == tail), None)
frame_s = 1024 / 44100
print(f"reconnect gap: {first_byte - lost_at:.3f} s from the close to the first byte of the new stream")
if at is None:
    print("the last 20 frames heard are not in the new stream's burst")
else:
    repeated = at + 20
    print(f"nothing missed: the new stream (a live replica, same station clock) starts {repeated} frames ({repeated * frame_s:.2f} s) before the last frame heard, so its burst repeats what the player had buffered and then continues at the same moment")
PY
pid_probe=$!; pids+=("$pid_probe")
sleep 2
echo "== $HLS_CLIENTS HLS players and $STREAMS stream listeners through nginx for ${RUN_SECONDS}s; replica A killed at ${KILL_AT}s"
target/release/onair-loadgen --hls --url "http://127.0.0.1:$PORT/jazz.m3u8" \
  --listeners "$HLS_CLIENTS" --seconds "$RUN_SECONDS" --ramp-per-sec 2000 --json > "$work/hls.json" &
pid_hls=$!; pids+=("$pid_hls")
target/release/onair-loadgen --url "http://127.0.0.1:$PORT/jazz" \
  --listeners "$STREAMS" --seconds "$RUN_SECONDS" --ramp-per-sec 1000 --json > "$work/streams.json" &
pid_streams=$!; pids+=("$pid_streams")



sleep "$KILL_AT"
kill "$pid_a"
echo "== killed replica A at ${KILL_AT}s"
wait "$pid_hls" || true
wait "$pid_streams" || true
wait "$pid_probe" || true
end_nginx=$(cpu "$pid_nginx"); end_b=$(cpu "$pid_b")

metric() { # a counter summed over stations, from replica $1
  curl -s "http://127.0.0.1:$1/metrics" 2>/dev/null | awk -v m="$2" '$1 ~ "^"m"\\{" {s += $2} END {print s + 0}'
}
seg_b=$(metric "$B" onair_hls_segment_requests_total)
pl_b=$(metric "$B" onair_hls_playlist_requests_total)
python3 - "$work" "$seg_b" "$pl_b" "$RUN_SECONDS" "$start_nginx" "$end_nginx" "$start_b" "$end_b" <<'PY'
import json, sys
work, seg_b, pl_b, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
n0, n1, b0, b1 = map(float, sys.argv[5:9])
hls = json.load(open(f"{work}/hls.json"))
streams = json.load(open(f"{work}/streams.json"))
segments_seen = max(1, hls["segment_requests"] // max(1, hls["clients"]))
print("")
print(f"HLS players:        {hls['clients']} through nginx for {run:.0f} s")
print(f"  requests:         {hls['playlist_requests']} playlists, {hls['segment_requests']} segments")
print(f"  errors:           {sum(hls['errors'].values())} {hls['errors'] or ''}")
print(f"  continuity:       {hls['continuity_faults']} faults, {hls['missing_segments']} missing, {hls['bad_segments']} bad")
print(f"  segment fetch:    p50 {hls['segment_ms']['p50']:.1f} ms, p99 {hls['segment_ms']['p99']:.1f} ms")
print(f"  origin (replica B, alive all along): {seg_b} segment requests, {pl_b} playlist requests")
hit = 1 - seg_b / max(1, hls['segment_requests'])
print(f"  segment cache hit ratio (at least): {hit * 100:.3f}%")
print(f"Stream listeners:   {streams['listeners']} through nginx: {streams['status_200']} served; {streams['listeners_with_stalls']} stopped hearing audio when replica A died (this load generator does not reconnect; the probe below does)")
print(f"  realtime ratio p50 {streams['realtime_ratio']['p50']:.3f}, resyncs {streams['resyncs']}, garbage bytes {streams['garbage_bytes']}")
print(f"CPU over the run:   nginx {100 * (n1 - n0) / run:.1f}%, replica B {100 * (b1 - b0) / run:.1f}% (of one core)")
PY
echo ""
cat "$work/reconnect.txt"
