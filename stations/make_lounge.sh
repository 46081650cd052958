#!/usr/bin/env bash
# Synthesises the sample MP3 programme station `stations/lounge/`: three short tagged tracks
# (ID3v2.3 artist and title), 44.1 kHz stereo MP3 at 96 kb/s, made from scratch with ffmpeg's
# expression source (no samples, nothing copyrighted) and encoded with libmp3lame.
# Run from anywhere: bash stations/make_lounge.sh
set -euo pipefail
cd "$(dirname "$0")/lounge"
# A note: frequency f, starting at s seconds, decaying: gain*sin(2*PI*f*t)*exp(-k*(t-s))*(t>=s)
track() { # file artist title seconds left-expression right-expression
  ffmpeg -v error -y -f lavfi -i "aevalsrc='$5|$6':s=44100:d=$4" \
    -af "afade=t=in:d=0.05,volume=0.9" -c:a libmp3lame -b:a 96k \
    -metadata "artist=$2" -metadata "title=$3" -id3v2_version 3 -f mp3 "$1"
}
# 1. Slow ii-V-I in F: three chords of four seconds, a bass note under each.
chords="0.12*(sin(2*PI*(if(lt(t,4),196,if(lt(t,8),261.63,174.61)))*t)+sin(2*PI*(if(lt(t,4),233.08,if(lt(t,8),329.63,220)))*t)+sin(2*PI*(if(lt(t,4),293.66,if(lt(t,8),392,261.63)))*t))*(0.6+0.4*exp(-2*mod(t,4)))"
bass="0.25*sin(2*PI*(if(lt(t,4),98,if(lt(t,8),65.41,87.31)))*t)*exp(-0.6*mod(t,2))"
track "01 Lantern Light.mp3" "onair Trio" "Lantern Light" 12 "$chords+$bass" "$chords+0.8*$bass"
# 2. A pentatonic bell melody over a drone, a note every half second.
bell="0.3*sin(2*PI*(440*pow(2,(floor(mod(t*2*7,5))*2+if(gt(mod(floor(t*2),4),1),3,0))/12))*t)*exp(-5*mod(t,0.5))"
drone="0.12*sin(2*PI*110*t)+0.08*sin(2*PI*165*t)*(0.7+0.3*sin(2*PI*0.25*t))"
track "02 Harbour Bells.mp3" "onair Trio" "Harbour Bells" 10 "$bell+$drone" "0.8*$bell+$drone"
# 3. A walking bass with a ride-cymbal tick, swung eighths.
walk="0.3*sin(2*PI*(55*pow(2,floor(mod(t*2,8))/12*2))*t)*exp(-3*mod(t,0.5))"
ride="0.05*sin(2*PI*5200*t)*sin(2*PI*7300*t)*exp(-30*mod(t,0.5))"
track "03 Night Walk.mp3" "The Night Quartet" "Night Walk" 11 "$walk+$ride" "0.9*$walk+1.2*$ride"
