#!/usr/bin/env python3
"""A live source for the live benchmark (scripts/live-bench.sh), and its latency probe.

Connects to an onair station over Icecast's SOURCE protocol `--sessions` times: each time it
pushes `--live-seconds` of an ADTS file's frames in real time, then leaves for `--gap-seconds`.
Beside it, one listener reads the station and notes when each frame the source sent arrives:
the latency from the source's send to a listener's receive. Prints a JSON report. Loopback
only; it stops by itself.
"""
import argparse
import base64
import json
import socket
import threading
import time


def adts_frames(data):
    """The ADTS frames of `data`, from byte 0 (a cut last frame left out)."""
    frames, at = [], 0
    while at + 7 <= len(data):
        if data[at] != 0xFF or (data[at + 1] & 0xF6) != 0xF0:
            raise ValueError("byte %d is not an ADTS frame" % at)
        length = ((data[at + 3] & 3) << 11) | (data[at + 4] << 3) | (data[at + 5] >> 5)
        if at + length > len(data):
            break
        frames.append(data[at:at + length])
        at += length
    return frames


def payload(frame):
    return frame[7:] if frame[1] & 1 else frame[9:]


class Probe:
    """One listener: when each frame sent in the current session first arrived."""

    def __init__(self, host, port, station):
        self.sent = {}
        self.seen = set()
        self.latencies = []
        self.lock = threading.Lock()
        self.stop = False
        self.sock = socket.create_connection((host, port))
        self.sock.sendall(("GET /%s HTTP/1.0\r\n\r\n" % station).encode())

    def run(self):
        buf = b""
        head_done = False
        while not self.stop:
            data = self.sock.recv(65536)
            now = time.monotonic()
            if not data:
                break
            buf += data
            if not head_done:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                buf, head_done = buf[end + 4:], True
            frames = adts_frames(buf)
            used = sum(len(f) for f in frames)
            buf = buf[used:]
            with self.lock:
                for f in frames:
                    key = payload(f)
                    sent = self.sent.get(key)
                    if sent is not None and key not in self.seen:
                        self.seen.add(key)
                        self.latencies.append(now - sent)

    def new_session(self):
        with self.lock:
            self.sent = {}
            self.seen = set()

    def note_sent(self, frame, at):
        with self.lock:
            self.sent.setdefault(payload(frame), at)


def push(host, port, station, password, frames, seconds, probe):
    """One session: the source's frames in real time for `seconds`. Returns the status line."""
    sock = socket.create_connection((host, port))
    auth = base64.b64encode(("source:%s" % password).encode()).decode()
    sock.sendall(("SOURCE /%s HTTP/1.0\r\nAuthorization: Basic %s\r\n"
                  "Content-Type: audio/aac\r\nice-name: Bench Show\r\n\r\n"
                  % (station, auth)).encode())
    answer = sock.recv(1024).decode("latin-1").split("\r\n")[0]
    if " 200 " not in answer + " ":
        sock.close()
        return answer
    frame_s = 1024 / 44100
    start = time.monotonic()
    count = int(seconds / frame_s)
    for i in range(count):
        due = start + i * frame_s
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        frame = frames[i % len(frames)]
        probe.note_sent(frame, time.monotonic())
        sock.sendall(frame)
    sock.close()
    return answer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--station", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--file", required=True, help="ADTS AAC in the station's format")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--live-seconds", type=float, default=3.0)
    parser.add_argument("--gap-seconds", type=float, default=2.0)
    args = parser.parse_args()
    frames = adts_frames(open(args.file, "rb").read())
    probe = Probe(args.host, args.port, args.station)
    thread = threading.Thread(target=probe.run, daemon=True)
    thread.start()
    answers = []
    for _ in range(args.sessions):
        probe.new_session()
        answers.append(push(args.host, args.port, args.station, args.password,
                            frames, args.live_seconds, probe))
        time.sleep(args.gap_seconds)
    probe.stop = True
    lat = sorted(probe.latencies)
    pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None
    print(json.dumps({
        "sessions": args.sessions,
        "accepted": sum(1 for a in answers if " 200 " in a + " "),
        "answers": sorted(set(answers)),
        "frames_measured": len(lat),
        "latency_ms": {"min": pick(0), "p50": pick(0.5), "p99": pick(0.99), "max": pick(1.0)},
    }))


if __name__ == "__main__":
    main()
