#!/usr/bin/env python3
"""Synthesises the two sample stations, jazz.aac and ambient.aac.

Pure Python (standard library) renders the music to WAV; ffmpeg's native AAC encoder turns it
into ADTS:

    python3 stations/make_samples.py        # writes stations/jazz.aac and stations/ambient.aac

The output is deterministic (seeded); rerunning it reproduces the committed files up to encoder
version differences.
"""
import math
import os
import random
import struct
import subprocess
import tempfile
import wave

RATE = 44100
HERE = os.path.dirname(os.path.abspath(__file__))


def midi_hz(note):
    return 440.0 * 2 ** ((note - 69) / 12)


class Mix:
    def __init__(self, seconds):
        self.n = int(seconds * RATE)
        self.left = [0.0] * self.n
        self.right = [0.0] * self.n

    def add(self, start, dur, freq, gain, pan=0.5, attack=0.01, release=0.1,
            partials=((1, 1.0),), vibrato=0.0, decay=0.0):
        """One note: additive partials, linear attack, exponential decay, release tail."""
        s0 = int(start * RATE)
        total = int((dur + release) * RATE)
        gl, gr = gain * (1 - pan), gain * pan
        two_pi = 2 * math.pi
        a_n = max(1, int(attack * RATE))
        d_n = int(dur * RATE)
        r_n = max(1, int(release * RATE))
        for i in range(total):
            j = s0 + i
            if j >= self.n:
                break
            t = i / RATE
            if i < a_n:
                env = i / a_n
            elif i < d_n:
                env = math.exp(-decay * (t - attack)) if decay else 1.0
            else:
                held = math.exp(-decay * (dur - attack)) if decay else 1.0
                env = held * (1 - (i - d_n) / r_n)
            f = freq * (1 + vibrato * math.sin(two_pi * 5.0 * t))
            v = 0.0
            for mult, amp in partials:
                v += amp * math.sin(two_pi * f * mult * t)
            v *= env
            self.left[j] += v * gl
            self.right[j] += v * gr

    def noise(self, start, dur, gain, pan, rng):
        s0 = int(start * RATE)
        n = int(dur * RATE)
        prev = 0.0
        for i in range(n):
            j = s0 + i
            if j >= self.n:
                break
            x = rng.uniform(-1, 1)
            hp = x - prev  # crude high-pass: a hi-hat-like tick
            prev = x
            env = math.exp(-i / (0.012 * RATE))
            self.left[j] += hp * env * gain * (1 - pan)
            self.right[j] += hp * env * gain * pan

    def write(self, path):
        peak = max(max(abs(v) for v in self.left), max(abs(v) for v in self.right), 1e-9)
        scale = 0.85 / peak
        with wave.open(path, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(RATE)
            frames = bytearray()
            for l, r in zip(self.left, self.right):
                frames += struct.pack("<hh", int(l * scale * 32767), int(r * scale * 32767))
            w.writeframes(bytes(frames))


def jazz(seconds=48):
    """A ii-V-I-VI turnaround in C with swung walking bass, comping seventh chords, a melody
    and ride/hat ticks, at 120 bpm."""
    rng = random.Random(7)
    m = Mix(seconds)
    beat = 0.5
    rhodes = ((1, 1.0), (2, 0.35), (3, 0.12), (4, 0.05))
    bass_tone = ((1, 1.0), (2, 0.5), (3, 0.2))
    chords = [  # (root for bass, chord tones)
        (50, [53, 57, 60, 64]),  # Dm9
        (43, [53, 57, 59, 64]),  # G13
        (48, [52, 55, 59, 62]),  # Cmaj9
        (45, [52, 55, 58, 61]),  # A7b9-ish
    ]
    scale = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76]
    bar = 0
    t = 0.0
    while t < seconds - 2:
        root, tones = chords[bar % 4]
        # Comping: a chord on beat 1 and on the "and" of 2 (swung).
        for at, length in ((0.0, 1.2), (1.0 + 2 / 3, 0.6)):
            for k, note in enumerate(tones):
                m.add(t + at * beat, length * beat, midi_hz(note), 0.05,
                      pan=0.35 + 0.1 * k, attack=0.005, release=0.25,
                      partials=rhodes, decay=1.5)
        # Walking bass: root, a step, the fifth, a chromatic approach to the next root.
        next_root = chords[(bar + 1) % 4][0]
        walk = [root, root + 2, root + 7, next_root + (1 if rng.random() < 0.5 else -1)]
        for k, note in enumerate(walk):
            m.add(t + k * beat, beat * 0.9, midi_hz(note), 0.22, pan=0.5,
                  attack=0.01, release=0.05, partials=bass_tone, decay=2.0)
        # Ride on every beat, swung ticks between.
        for k in range(4):
            m.noise(t + k * beat, 0.08, 0.05, 0.7, rng)
            if k % 2 == 1:
                m.noise(t + (k + 2 / 3) * beat, 0.05, 0.03, 0.7, rng)
        # Melody: a swung eighth-note phrase on the chord, resting every fourth bar.
        if bar % 4 != 3:
            pos = 0.0
            while pos < 4:
                length = 2 / 3 if int(pos * 3) % 3 == 0 else 1 / 3
                if rng.random() < 0.8:
                    note = rng.choice(tones + scale[3:8])
                    m.add(t + pos * beat, length * beat * 0.95, midi_hz(note + 12), 0.09,
                          pan=0.6, attack=0.01, release=0.08,
                          partials=((1, 1.0), (2, 0.2), (3, 0.1)), vibrato=0.003)
                pos += length
        t += 4 * beat
        bar += 1
    return m


def ambient(seconds=60):
    """Slow pads on a I-vi-IV-V in D, eight seconds a chord, with a sparse pentatonic bell
    melody."""
    rng = random.Random(11)
    m = Mix(seconds)
    pad = ((1, 1.0), (2, 0.3), (3, 0.15), (4, 0.08), (5, 0.04))
    bell = ((1, 1.0), (2.76, 0.4), (5.4, 0.2))
    chords = [[50, 57, 62, 66], [47, 54, 59, 62], [43, 50, 55, 59], [45, 52, 57, 61]]
    length = 8.0
    t = 0.0
    k = 0
    while t < seconds - 1:
        for i, note in enumerate(chords[k % 4]):
            for detune, pan in ((0.997, 0.2), (1.003, 0.8)):
                m.add(t, length, midi_hz(note) * detune, 0.05, pan=pan,
                      attack=2.5, release=3.0, partials=pad, vibrato=0.002)
        t += length
        k += 1
    pent = [74, 76, 78, 81, 83, 86]
    t = 2.0
    while t < seconds - 3:
        m.add(t, 1.5, midi_hz(rng.choice(pent)), 0.06, pan=rng.uniform(0.3, 0.7),
              attack=0.005, release=2.0, partials=bell, decay=1.2)
        t += rng.choice([1.5, 2.0, 3.0])
    return m


def encode(mix, name, bitrate):
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, name + ".wav")
        mix.write(wav)
        out = os.path.join(HERE, name + ".aac")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", wav, "-c:a", "aac",
                        "-b:a", bitrate, "-f", "adts", out], check=True)
        print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    encode(jazz(), "jazz", "128k")
    encode(ambient(), "ambient", "96k")
