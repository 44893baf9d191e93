#!/usr/bin/env bash
# Makes sure clang++ and its libFuzzer runtime (for packages/native/fuzz/run.sh) are there: when
# clang++ is missing or cannot build a libFuzzer target with AddressSanitizer and
# UndefinedBehaviorSanitizer, installs Debian's clang and the runtime package of its version
# (libclang-rt-<major>-dev; bookworm: clang 14) with apt-get, as root (as CI runs); otherwise
# says what to install. Prints clang++'s path.
#   bash tools/ensure-clang.sh
set -euo pipefail
fuzzer_builds() {  # a libFuzzer target links with the sanitizers run.sh uses
  command -v clang++ >/dev/null 2>&1 || return 1
  local dir
  dir=$(mktemp -d)
  printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' >"$dir/probe.cc"
  local ok=0
  clang++ -fsanitize=fuzzer,address,undefined "$dir/probe.cc" -o "$dir/probe" >/dev/null 2>&1 || ok=1
  rm -rf "$dir"
  return "$ok"
}
if ! fuzzer_builds; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    command -v clang++ >/dev/null 2>&1 || apt-get install -y -q clang >/dev/null
    major=$(clang++ -dumpversion | cut -d. -f1)
    apt-get install -y -q "libclang-rt-$major-dev" >/dev/null
    fuzzer_builds || { echo "clang++ $(clang++ -dumpversion) still cannot build a libFuzzer target" >&2; exit 1; }
  else
    echo "clang++ with its libFuzzer runtime is not installed: install it (Debian/Ubuntu: sudo apt-get install" \
      "clang libclang-rt-14-dev, the runtime package matching clang's version; elsewhere see" \
      "https://llvm.org/docs/LibFuzzer.html), then run the fuzzers again" >&2
    exit 1
  fi
fi
command -v clang++
