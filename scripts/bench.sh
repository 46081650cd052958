#!/usr/bin/env bash
# The listener benchmark: onair and Icecast 2, side by side, on this machine, in one run.
#
#   scripts/bench.sh            # onair and Icecast at 1k, 5k, 10k, 19k listeners, then 100x100
#   scripts/bench.sh onair      # onair only
#   scripts/bench.sh icecast    # Icecast only
#   scripts/bench.sh tls        # plain beside TLS, onair and Icecast, at 1k and 10k listeners
#   SERVERS=onair scripts/bench.sh tls   # onair only, plain beside TLS
#   scripts/bench.sh audience   # onair at 10k, bare beside the access log and webhooks on
#   LEVELS="1000 5000" SECONDS_PER_LEVEL=20 scripts/bench.sh
#   STATION=my.opus LEVELS=10000 scripts/bench.sh   # another station file (.aac, .mp3, .opus, .ogg, .flac)
#
# Each level starts the server fresh on loopback with one 128 kb/s station (stations/jazz.aac),
# runs onair-loadgen (ramp 2000 connects/s, every listener reading for SECONDS_PER_LEVEL
# seconds) with --server-pid so the server's CPU and RSS are sampled from /proc, stops the
# server, and prints one table row. Icecast 2 (Debian's icecast2, installed with apt if missing)
# is fed by `ffmpeg -re -stream_loop -1 -i station.aac -c copy -f adts` on loopback. Everything
# stops by itself; nothing leaves loopback.
#
# `tls` runs each server twice per level, plain HTTP and HTTPS (one ECDSA P-256 certificate from
# a CA made by openssl for the run; the load generator verifies it), so that what encrypting
# each listener's bytes costs is read off side by side.
set -euo pipefail
cd "$(dirname "$0")/.."

WHICH=${1:-both}
if [ "$WHICH" = tls ]; then LEVELS=${LEVELS:-"1000 10000"}; fi
if [ "$WHICH" = audience ]; then LEVELS=${LEVELS:-"10000"}; fi
LEVELS=${LEVELS:-"1000 5000 10000 19000"}
SECONDS_PER_LEVEL=${SECONDS_PER_LEVEL:-30}
RAMP=${RAMP:-2000}
STATION=${STATION:-stations/jazz.aac}
EXT=${STATION##*.}
case "$EXT" in
  aac) FEED=(-f adts -content_type audio/aac) ;;
  mp3) FEED=(-f mp3 -content_type audio/mpeg) ;;
  opus|ogg|flac) FEED=(-f ogg -content_type audio/ogg) ;;
  *) echo "bench: STATION must be .aac, .mp3, .opus, .ogg or .flac" >&2; exit 2 ;;
esac
ONAIR_PORT=18080
ONAIR_TLS_PORT=18443
ICECAST_PORT=18000
ICECAST_TLS_PORT=18001
WORK=$(mktemp -d)
chmod 755 "$WORK" # Icecast drops root for nobody, and must reach its log folder
RESULTS="$WORK/results.txt"
trap 'kill $(jobs -p) 2>/dev/null || true; cat "$RESULTS" 2>/dev/null; rm -rf "$WORK"' EXIT

ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p onair-server -p onair-loadgen
ONAIR=target/release/onair
LOADGEN=target/release/onair-loadgen

wait_for() { # url (an endless stream counts as up once it answers 200)
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$1" || true)" = 200 ] && return 0
    sleep 0.1
  done
  echo "bench: $1 did not come up" >&2; return 1
}

make_certs() { # a CA and a certificate for localhost, in $WORK/tls
  local d="$WORK/tls"
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=bench CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$d/key.pem" -out "$d/leaf.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$d/ext"
  openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/ext" -out "$d/leaf.pem" 2>/dev/null
  cat "$d/leaf.pem" "$d/ca.pem" >"$d/cert.pem"
  cat "$d/cert.pem" "$d/key.pem" >"$d/icecast.pem" # Icecast wants both in one file
  chmod 755 "$d"; chmod 644 "$d"/*
}

row() { # server level json
  python3 - "$1" "$2" "$3" >>"$RESULTS" <<'PY'
import json, sys
server, level, path = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
s = r.get("server") or {}
rss = s.get("rss_per_listener_bytes")
print("| %s | %s | %d / %d | %d | %d | %.3f / %.3f | %.2f | %.1f | %.1f | %.0f%% | %s | %.0f%% |" % (
    server, level, r["status_200"], r["listeners"], r["failed"], r["stalls"],
    r["realtime_ratio"]["p50"], r["realtime_ratio"]["min"], r["burst_audio_s"]["p50"],
    r["ttfb_ms"]["p50"], r["ttfb_ms"]["p99"], s.get("cpu_percent", 0.0),
    "%.0f B" % rss if rss is not None else "-", r["loadgen"]["cpu_percent"]))
PY
}

run_onair() { # level [stations] [tls | audience]
  local level=$1 stations=${2:-1} tls=${3:-} dir="$WORK/onair" urls=() config=/dev/null
  rm -rf "$dir"; mkdir -p "$dir/stations"
  if [ "$tls" = audience ]; then
    # The access log and analytics on disk, and a webhook told of every listener joining and
    # leaving and of every track (an nginx answering 204 on loopback).
    cp "$STATION" "$dir/stations/jazz.$EXT"; urls=(--url "http://127.0.0.1:$ONAIR_PORT/jazz")
    config="$dir/config.toml"
    # HOOK_EVENTS='["track"]' leaves the listeners' events out (they are opt-in).
    printf '[log]\naccess = "%s"\n[analytics]\ndir = "%s"\n[[hooks]]\nurl = "http://127.0.0.1:%s/hook"\nevents = %s\n' \
      "$dir/access.log" "$dir/analytics" "$HOOK_PORT" "${HOOK_EVENTS:-[\"listener_joined\", \"listener_left\", \"track\"]}" >"$config"
    run_onair_with "$level" "onair (access log, analytics, hooks ${HOOK_EVENTS:-with listener events})" "$dir" "$config" "${urls[@]}"
    echo "  $level: access log $(wc -l <"$dir/access.log") lines; analytics $(cat "$dir"/analytics/*.jsonl | wc -l) records; hooks received $(wc -l <"$WORK/hook/access.log")" >>"$WORK/notes.txt"
    return
  fi
  if [ -n "$tls" ]; then
    cp "$STATION" "$dir/stations/jazz.$EXT"
    urls=(--url "https://localhost:$ONAIR_TLS_PORT/jazz" --tls-ca "$WORK/tls/ca.pem")
    config="$dir/config.toml"
    printf '[server]\nlisten_tls = "127.0.0.1:%s"\n[tls]\ncert = "%s"\nkey = "%s"\n' \
      "$ONAIR_TLS_PORT" "$WORK/tls/cert.pem" "$WORK/tls/key.pem" >"$config"
  elif [ "$stations" = 1 ]; then
    cp "$STATION" "$dir/stations/jazz.$EXT"; urls=(--url "http://127.0.0.1:$ONAIR_PORT/jazz")
  else
    for i in $(seq -w 0 $((stations - 1))); do
      cp "$STATION" "$dir/stations/s$i.$EXT"; urls+=(--url "http://127.0.0.1:$ONAIR_PORT/s$i")
    done
  fi
  run_onair_with "$level$( [ "$stations" = 1 ] || echo " ($stations stations)")" "onair${tls:+ (TLS)}" "$dir" "$config" "${urls[@]}"
}

run_onair_with() { # level-label name dir config urls...
  local label=$1 name=$2 dir=$3 config=$4; shift 4
  local level=${label%% *}
  RUST_LOG=warn $ONAIR --config "$config" --stations "$dir/stations" --listen "127.0.0.1:$ONAIR_PORT" >"$dir/log" 2>&1 &
  local pid=$!
  wait_for "http://127.0.0.1:$ONAIR_PORT/healthz"
  sleep 15 # the idle base: stations warmed up (burst rings and listener queues full)
  $LOADGEN "$@" --listeners "$level" --seconds "$SECONDS_PER_LEVEL" --ramp-per-sec "$RAMP" \
    --server-pid "$pid" --json >"$dir/report.json" || true
  kill -TERM "$pid"; wait "$pid" || true
  row "$name" "$label" "$dir/report.json"
}

HOOK_PORT=18098
start_hook_receiver() { # nginx answering 204 to every POST, counting them in its access log
  mkdir -p "$WORK/hook"
  cat >"$WORK/hook/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/hook/nginx.pid;
error_log $WORK/hook/error.log;
events { worker_connections 4096; }
http {
  access_log $WORK/hook/access.log;
  client_body_temp_path $WORK/hook;
  server { listen 127.0.0.1:$HOOK_PORT; location / { return 204; } }
}
NGINX
  nginx -c "$WORK/hook/nginx.conf" -p "$WORK/hook"
}

install_icecast() {
  command -v icecast2 >/dev/null && return
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq icecast2 ffmpeg >/dev/null
}

run_icecast() { # level [tls]
  local level=$1 tls=${2:-} dir="$WORK/icecast" url="http://127.0.0.1:$ICECAST_PORT/jazz" ca=()
  if [ -n "$tls" ]; then url="https://localhost:$ICECAST_TLS_PORT/jazz"; ca=(--tls-ca "$WORK/tls/ca.pem"); fi
  rm -rf "$dir"; mkdir -p "$dir/log"; chmod 777 "$dir/log"
  cat >"$dir/icecast.xml" <<XML
<icecast>
  <limits><clients>20000</clients><sources>4</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout><burst-size>65535</burst-size></limits>
  <authentication><source-password>benchsource</source-password>
    <admin-user>admin</admin-user><admin-password>benchadmin</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>$ICECAST_PORT</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <listen-socket><port>$ICECAST_TLS_PORT</port><bind-address>127.0.0.1</bind-address><ssl>1</ssl></listen-socket>
  <fileserve>1</fileserve>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>$dir/log</logdir>
    <ssl-certificate>$WORK/tls/icecast.pem</ssl-certificate>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><loglevel>1</loglevel></logging>
  <security><chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner></security>
</icecast>
XML
  icecast2 -c "$dir/icecast.xml" >"$dir/stdout" 2>&1 &
  local pid=$!
  if ! wait_for "http://127.0.0.1:$ICECAST_PORT/status-json.xsl"; then
    cat "$dir/stdout" "$dir/log/error.log" >&2 2>/dev/null || true
    return 1
  fi
  ffmpeg -nostdin -v error -re -stream_loop -1 -i "$STATION" -c copy "${FEED[@]}" \
    "icecast://source:benchsource@127.0.0.1:$ICECAST_PORT/jazz" >"$dir/ffmpeg.log" 2>&1 &
  local feeder=$!
  wait_for "http://127.0.0.1:$ICECAST_PORT/jazz"
  sleep 5 # let Icecast fill its burst
  $LOADGEN --url "$url" "${ca[@]}" --listeners "$level" --seconds "$SECONDS_PER_LEVEL" \
    --ramp-per-sec "$RAMP" --server-pid "$pid" --json >"$dir/report.json" || true
  kill "$feeder" 2>/dev/null || true; kill -TERM "$pid" 2>/dev/null || true
  wait "$feeder" "$pid" 2>/dev/null || true
  row "icecast${tls:+ (TLS)}" "$level" "$dir/report.json"
}

{
  echo "| server | listeners | served (200) | failed | stalls > 1.5 s | real-time p50 / min | burst p50 (s of audio) | TTFB p50 (ms) | TTFB p99 (ms) | server CPU (one core) | RSS / listener | loadgen CPU |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$RESULTS"

if [ "$WHICH" = tls ]; then
  SERVERS=${SERVERS:-"onair icecast"}
  make_certs
  case " $SERVERS " in *" icecast "*) install_icecast ;; esac
  for level in $LEVELS; do
    case " $SERVERS " in *" onair "*) run_onair "$level"; run_onair "$level" 1 tls ;; esac
    case " $SERVERS " in *" icecast "*) run_icecast "$level"; run_icecast "$level" tls ;; esac
  done
fi
if [ "$WHICH" = audience ]; then
  start_hook_receiver
  for level in $LEVELS; do run_onair "$level"; run_onair "$level" 1 audience; done
  kill "$(cat "$WORK/hook/nginx.pid")" 2>/dev/null || true
  cat "$WORK/notes.txt" >>"$RESULTS"
fi
if [ "$WHICH" = onair ] || [ "$WHICH" = both ]; then
  for level in $LEVELS; do run_onair "$level"; done
  run_onair 10000 100
fi
if [ "$WHICH" = icecast ] || [ "$WHICH" = both ]; then
  install_icecast
  for level in $LEVELS; do run_icecast "$level"; done
fi
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); ${SECONDS_PER_LEVEL} s per listener, ramp ${RAMP}/s"
