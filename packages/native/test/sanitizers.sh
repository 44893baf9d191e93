#!/usr/bin/env bash
# Builds the C++ protocol stress tests (test/stress.cc for SPSC, test/stress_mpmc.cc for MPMC,
# test/stress_broadcast.cc for broadcast) under AddressSanitizer with UndefinedBehaviorSanitizer
# and under ThreadSanitizer, and runs every mode. Any report fails. The builds run two at a
# time (they take longer than most runs). Messages in fragments (longer than a record carries)
# go through the SPSC and broadcast runs, mixed with the rest. Every wait mechanism runs, and
# some runs put their channels in files.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CXX=${CXX:-g++}
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -I include -pthread)
asan=(-fsanitize=address,undefined -fno-sanitize-recover=all)
build() {  # <test> <asan|tsan>
  local sanitize=("${asan[@]}")
  [ "$2" = tsan ] && sanitize=(-fsanitize=thread)
  "$CXX" "${flags[@]}" "test/$1.cc" "${sanitize[@]}" -o "$out/$1-$2"
}
pids=()
for test in stress stress_mpmc stress_broadcast; do
  for kind in asan tsan; do
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
    build "$test" "$kind" &
    pids+=($!)
  done
done
for pid in "${pids[@]}"; do wait "$pid"; done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 TSAN_OPTIONS=halt_on_error=1
for wait in futex semaphore; do
  "$out/stress-asan" threads "$wait" 300000
  "$out/stress-asan" processes "$wait" 300000
  "$out/stress-asan" receiver-kill "$wait" 20
  "$out/stress-asan" sender-kill "$wait" 20
  "$out/stress-asan" hostile "$wait"
  # ThreadSanitizer follows the protocol only within one mapping: threads share one.
  "$out/stress-tsan" threads "$wait" 200000
  # MPMC: 3 producers and 3 consumers (per-producer message counts), then other shapes.
  "$out/stress_mpmc-asan" threads "$wait" 100000
  "$out/stress_mpmc-asan" threads "$wait" 20000 8 2
  "$out/stress_mpmc-asan" processes "$wait" 100000
  "$out/stress_mpmc-asan" processes "$wait" 30000 2 5
  "$out/stress_mpmc-asan" repair "$wait"
  "$out/stress_mpmc-asan" kill "$wait" 50000 30
  "$out/stress_mpmc-asan" parked-kill "$wait"
  "$out/stress_mpmc-asan" hostile "$wait"
  "$out/stress_mpmc-tsan" threads "$wait" 50000
  "$out/stress_mpmc-tsan" threads "$wait" 10000 6 6
  "$out/stress_mpmc-asan" threads-last "$wait" 20000 6 3
  "$out/stress_mpmc-tsan" threads-last "$wait" 10000 6 3
  # Broadcast: 'block' with receivers joining and leaving, 'drop' with a lapped receiver,
  # the lag limit, killed endpoints, hostile bytes, repairs after a sender's death, joins.
  "$out/stress_broadcast-asan" threads "$wait" 200000
  "$out/stress_broadcast-asan" drop "$wait" 300000
  "$out/stress_broadcast-asan" lag "$wait"
  "$out/stress_broadcast-asan" kill "$wait"
  "$out/stress_broadcast-asan" hostile "$wait"
  "$out/stress_broadcast-asan" repair "$wait"
  "$out/stress_broadcast-asan" join "$wait"
  "$out/stress_broadcast-tsan" threads "$wait" 60000
  "$out/stress_broadcast-tsan" drop "$wait" 100000
  "$out/stress_broadcast-tsan" lag "$wait"
done
# Named semaphores (sem_open) and file-backed channels (files in $out, through
# RINGWIRE_STRESS_DIR) take the same protocol paths: a shorter round of each.
"$out/stress-asan" processes named-semaphore 100000
"$out/stress-asan" sender-kill named-semaphore 10
"$out/stress-tsan" threads named-semaphore 100000
"$out/stress_mpmc-asan" processes named-semaphore 30000
"$out/stress_mpmc-asan" parked-kill named-semaphore
"$out/stress_broadcast-asan" threads named-semaphore 60000
RINGWIRE_STRESS_DIR="$out" "$out/stress-asan" processes futex 100000
RINGWIRE_STRESS_DIR="$out" "$out/stress-asan" sender-kill semaphore 10
RINGWIRE_STRESS_DIR="$out" "$out/stress_mpmc-asan" processes futex 30000
RINGWIRE_STRESS_DIR="$out" "$out/stress_broadcast-asan" kill futex
