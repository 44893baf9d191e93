#!/usr/bin/env bash
# Fuzzes the C++ headers with libFuzzer under AddressSanitizer and UndefinedBehaviorSanitizer
# (README.md says what each harness covers). Builds every harness (fuzz_*.cc) with clang++ (two
# builds at a time), runs every saved crash (regressions/<harness>/*) through its harness, then
# fuzzes each harness in turn for a fixed number of executions from a copy of its seed corpus
# (corpus/<harness>/; the repository's copies are never written). Fails on any crash, sanitizer
# report, leak, timeout or out-of-memory, and if the executions total less than asked for
# (1,000,000 by default). Prints each harness's executions, exec/s and coverage, and the total.
#   bash packages/native/fuzz/run.sh
# Environment:
#   RINGWIRE_FUZZ_RUNS       executions in all (default 1000000), split over the harnesses
#   RINGWIRE_FUZZ_MAX_TIME   seconds a harness may take at most (default 600): a safety cap (a
#                            harness stopped by it falls short, and the run fails)
#   RINGWIRE_FUZZ_ARTIFACTS  where crashing inputs are kept (default: a new directory in /tmp,
#                            printed when there are any)
#   RINGWIRE_FUZZ_SEED       libFuzzer's -seed (default: a new one each run, printed)
set -euo pipefail
cd "$(dirname "$0")/.."  # packages/native
bash ../../tools/ensure-clang.sh >/dev/null
start=$(date +%s)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
total_runs=${RINGWIRE_FUZZ_RUNS:-1000000}
max_time=${RINGWIRE_FUZZ_MAX_TIME:-600}
artifacts=${RINGWIRE_FUZZ_ARTIFACTS:-}
CXX=${CXX:-clang++}
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror -I include)
# Every harness, and its weight in the split of the executions (the last takes what is left): a
# fuzz_open iteration creates, maps and unmaps an object, which costs several times a receive
# harness's iteration (those keep their mappings and copy each image in).
harnesses=()
for source in fuzz/fuzz_*.cc; do harnesses+=("$(basename "$source" .cc)"); done
weight() {
  case $1 in
    fuzz_open) echo 100 ;;
    fuzz_spsc_recv) echo 350 ;;
    fuzz_mpmc_recv) echo 320 ;;
    fuzz_broadcast_recv) echo 230 ;;
    *) echo 250 ;;
  esac
}
weights=0
for h in "${harnesses[@]}"; do weights=$((weights + $(weight "$h"))); done

# Build, two at a time.
pids=()
for h in "${harnesses[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  "$CXX" "${flags[@]}" "fuzz/$h.cc" -o "$out/$h" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

# Smaller allocation stacks and quarantine than ASan's defaults: every iteration allocates, and
# the defaults' page faults cost more than the fuzzing.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=8:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
keep() {  # <file>: keep a crashing input where it outlives this run
  if [ -z "$artifacts" ]; then artifacts=$(mktemp -d /tmp/ringwire-fuzz-artifacts.XXXXXX); fi
  mkdir -p "$artifacts"
  cp "$1" "$artifacts/"
  echo "fuzz: kept $artifacts/$(basename "$1")"
}
# Runs one libFuzzer process (its log in $log) and removes what a crash mid-iteration may
# have left (fuzz_open's file under /dev/shm carries the process's pid).
fuzz() {  # <binary> <args...>
  local status=0
  "$@" >"$log" 2>&1 &
  local pid=$!
  wait "$pid" || status=$?
  rm -f "/dev/shm/ringwire-fuzz.$pid.ring"
  return "$status"
}

# Every saved crash, through its harness: a bug once found stays fixed.
for dir in fuzz/regressions/*/; do
  [ -d "$dir" ] || continue
  h=$(basename "$dir")
  if [ ! -x "$out/$h" ]; then
    echo "fuzz: $dir has no harness fuzz/$h.cc"
    failed=1
    continue
  fi
  for input in "$dir"*; do
    [ -f "$input" ] || continue
    log="$out/regression.log"
    if fuzz "$out/$h" -timeout=5 -rss_limit_mb=2048 "$input"; then
      echo "fuzz: regression $input: passes"
    else
      echo "fuzz: regression $input: FAILS"
      grep -E 'ERROR|SUMMARY|fuzz harness|runtime error|#[0-9]+ 0x' "$log" | head -40 || true
      failed=1
    fi
  done
done

# Fuzzing, one harness at a time.
executed=0
left=$total_runs
mkdir -p "$out/artifacts"
printf '%-22s %10s %8s %7s %7s %6s\n' harness execs exec/s cov ft secs
for i in "${!harnesses[@]}"; do
  h=${harnesses[$i]}
  if [ "$i" -eq $((${#harnesses[@]} - 1)) ]; then runs=$left; else runs=$((total_runs * $(weight "$h") / weights)); fi
  left=$((left - runs))
  mkdir -p "$out/corpus/$h"
  cp fuzz/corpus/"$h"/* "$out/corpus/$h/"
  log="$out/$h.log"
  seed=()
  [ -n "${RINGWIRE_FUZZ_SEED:-}" ] && seed=(-seed="$RINGWIRE_FUZZ_SEED")
  began=$(date +%s)
  status=0
  fuzz "$out/$h" -runs="$runs" -max_total_time="$max_time" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    "${seed[@]}" -artifact_prefix="$out/artifacts/$h-" "$out/corpus/$h" || status=$?
  secs=$(($(date +%s) - began))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  printf '%-22s %10s %8s %7s %7s %6s\n' "$h" "${execs:-?}" "${rate:-?}" "$(echo "$cov" | awk '{print $2}')" \
    "$(echo "$cov" | awk '{print $4}')" "$secs"
  executed=$((executed + ${execs:-0}))
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $h FAILED (exit $status, $(sed -n 's/^INFO: Seed: //p' "$log" | head -1 | sed 's/^/seed /'))"
    grep -E '^==[0-9]+==|ERROR|SUMMARY|fuzz harness|runtime error|^ +#[0-9]+ 0x|Test unit written|Base64' "$log" | head -60 || true
    for artifact in "$out/artifacts/$h-"*; do [ -f "$artifact" ] && keep "$artifact"; done
    failed=1
  fi
done
echo "fuzz: $executed executions in all (at least $total_runs asked for), $(($(date +%s) - start)) s"
if [ "$executed" -lt "$total_runs" ]; then
  echo "fuzz: too few executions: a harness was stopped by RINGWIRE_FUZZ_MAX_TIME ($max_time s) or failed"
  failed=1
fi
exit "$failed"
