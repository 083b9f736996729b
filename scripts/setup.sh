#!/usr/bin/env bash
# switchyard's one-command set-up on Debian 12 (as root or with sudo):
#   scripts/setup.sh example   install what is missing, build, run the credit-card example
#   scripts/setup.sh test      install what is missing, build, run the whole test suite:
#                              the Doxygen API reference (a warning fails),
#                              GCC Release exactly as a user builds it (compiled library; the
#                              header-only mode through its consumer test), then ASan+UBSan with
#                              warnings as errors (unity builds from here on), then the
#                              concurrency tests under TSan, then
#                              Clang 14 with warnings as errors (library, components, tool,
#                              examples, and the libFuzzer targets for a bounded time)
# Environment: JOBS (default: nproc), BUILD_ROOT (default: ./build).
set -euo pipefail

mode=${1:-}
case "$mode" in
  example|test) ;;
  *) echo "usage: $0 example|test" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=${BUILD_ROOT:-$root/build}
jobs=${JOBS:-$(nproc)}

packages=(build-essential cmake ninja-build ccache pkg-config python3
          nlohmann-json3-dev libfmt-dev doctest-dev libbenchmark-dev libconcurrentqueue-dev
          libsqlite3-dev libasio-dev libhowardhinnant-date-dev tzdata
          libboost1.81-dev libcurl4-openssl-dev libssl-dev libsimdjson-dev libnats-dev)
# The NATS tests run a real JetStream server (nats-server -js), started and killed by the tests.
[ "$mode" = test ] && packages+=(nats-server)
# The HTTP tests drive the ingress with the AWS CLI and boto3, as users will.
[ "$mode" = test ] && packages+=(clang-14 libclang-rt-14-dev bc doxygen git awscli python3-boto3)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

# configure <dir> <extra cmake args...>: every build includes the SQLite, schedule, HTTP and NATS
# components, so CI builds, tests and installs each of them in each configuration.
configure() {
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -G Ninja "${launcher[@]}" -DSWITCHYARD_WITH_SQLITE=ON -DSWITCHYARD_WITH_SCHEDULE=ON -DSWITCHYARD_WITH_HTTP=ON -DSWITCHYARD_WITH_NATS=ON "$@" >/dev/null
}

if [ "$mode" = example ]; then
  configure "$build_root/release" -DCMAKE_BUILD_TYPE=Release \
    -DSWITCHYARD_BUILD_TESTS=OFF -DSWITCHYARD_BUILD_BENCHMARKS=OFF -DSWITCHYARD_BUILD_TOOLS=OFF
  cmake --build "$build_root/release" -j "$jobs" --target credit_card_pipeline
  exec "$build_root/release/examples/credit_card_pipeline"
fi

step() { echo; echo "==> [${SECONDS}s] $*"; }

step "GCC Release, as a user builds it (compiled library): build everything, run every test"
configure "$build_root/gcc" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++
# The API reference first (seconds, no compiling): any Doxygen warning fails the run.
cmake --build "$build_root/gcc" --target switchyard_docs
cmake --build "$build_root/gcc" -j "$jobs"
ctest --test-dir "$build_root/gcc" -j "$jobs" --output-on-failure

# The stages after the first compile each target's sources as one translation unit
# (CMAKE_UNITY_BUILD): most of a file's compile time is parsing nlohmann/json, fmt and the
# library's headers, which a unity build does once per target instead of once per file. The
# first stage builds the library file by file, as users do; the tests are unity builds in every
# stage (SWITCHYARD_UNITY_TESTS).

step "AddressSanitizer + UndefinedBehaviorSanitizer, warnings as errors: every test (the packaging, compile-failure, example and full-size ones run in the other stages)"
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
configure "$build_root/asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ -DCMAKE_UNITY_BUILD=ON \
  -DSWITCHYARD_WARNINGS_AS_ERRORS=ON \
  -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" -DSWITCHYARD_BUILD_BENCHMARKS=OFF \
  -DSWITCHYARD_BUILD_EXAMPLES=OFF
cmake --build "$build_root/asan" -j "$jobs"
# The crash test publishes 30,000 events here (100,000 in the GCC stage): under ASan the last
# run, which publishes what is left, passed its 120 s limit on a slower machine. The randomized
# agreement tests run a quarter of their rounds (tests/test_scale.hpp), and the full-size server
# kill test (100,000 events; its 3,000-event case runs here) is the GCC stage's.
SWITCHYARD_STRESS_EVENTS=100000 SWITCHYARD_CRASH_EVENTS=30000 SWITCHYARD_RANDOM_SCALE=25 \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$build_root/asan" -j "$jobs" --output-on-failure -LE "consumers|compile_fail|full_size"

step "ThreadSanitizer: the concurrency tests (the library and its components instrumented too)"
# The compiled library, as users link it: the engine is compiled once under TSan instead of into
# every test file (header-only mode is built and run by the GCC stage's consumer test). -O1, as
# ThreadSanitizer's documentation suggests: it compiles faster than -O2 and keeps the runs quick.
tsan="-fsanitize=thread -O1 -g"
configure "$build_root/tsan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ -DCMAKE_UNITY_BUILD=ON \
  -DCMAKE_CXX_FLAGS="$tsan" -DCMAKE_EXE_LINKER_FLAGS="$tsan" \
  -DSWITCHYARD_BUILD_BENCHMARKS=OFF -DSWITCHYARD_BUILD_EXAMPLES=OFF -DSWITCHYARD_BUILD_TOOLS=OFF
tsan_targets=$(ctest --test-dir "$build_root/tsan" -N -L concurrency 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: //p')
# shellcheck disable=SC2086
cmake --build "$build_root/tsan" -j "$jobs" --target $tsan_targets
SWITCHYARD_STRESS_EVENTS=20000 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir "$build_root/tsan" -j "$jobs" --output-on-failure -L concurrency

step "Clang 14, warnings as errors: the library, its components, the tool and the examples; run the examples; fuzz for a bounded time"
# The tests and benchmarks were compiled twice by GCC above (once with warnings as errors); here
# Clang compiles what users compile: the library and components (through the examples that use
# them), the tool, the examples and the fuzzers.
configure "$build_root/clang" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_UNITY_BUILD=ON \
  -DSWITCHYARD_WARNINGS_AS_ERRORS=ON -DSWITCHYARD_BUILD_FUZZERS=ON -DSWITCHYARD_BUILD_BENCHMARKS=OFF
example_targets=$(ctest --test-dir "$build_root/clang" -N -L examples 2>/dev/null | sed -n 's/^ *Test *#[0-9]*: example_//p')
fuzz_targets=$(sed -n 's/^targets=(\(.*\))$/\1/p' "$root/scripts/fuzz.sh")
# shellcheck disable=SC2086
cmake --build "$build_root/clang" -j "$jobs" --target switchyard_cli $example_targets $fuzz_targets
ctest --test-dir "$build_root/clang" -j "$jobs" --output-on-failure -L examples
"$root/scripts/fuzz.sh" "$build_root/clang" "${FUZZ_SECONDS:-24}"

step "all test configurations passed"
