#!/usr/bin/env bash
# Builds the C++ protocol stress test (test/stress.cc) under AddressSanitizer with
# UndefinedBehaviorSanitizer and under ThreadSanitizer, and runs every mode. Any report fails.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
CXX=${CXX:-g++}
common=(-std=c++17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -I include test/stress.cc -pthread)
"$CXX" "${common[@]}" -fsanitize=address,undefined -fno-sanitize-recover=all -o "$out/stress-asan"
"$CXX" "${common[@]}" -fsanitize=thread -o "$out/stress-tsan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 TSAN_OPTIONS=halt_on_error=1
for wait in futex semaphore; do
  "$out/stress-asan" threads "$wait" 300000
  "$out/stress-asan" processes "$wait" 300000
  # ThreadSanitizer follows the protocol only within one mapping: threads share one.
  "$out/stress-tsan" threads "$wait" 200000
done
