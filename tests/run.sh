#!/usr/bin/env bash
# Runs every test suite after ./build.sh has built build/native and dist/ (use
# `./build.sh test`, which does both). Prints each suite's result and ends with one line
# `N passed, N failed, N skipped`; exits non-zero if anything failed.
#   suites: native ctest, native ctest under ASan+UBSan (build/native-asan),
#           node --test tests/node/, node --test tests/browser/, python unittest tests/python,
#           libFuzzer targets tests/fuzz/ (build/fuzz, clang-14; MVB_FUZZ_SECONDS each, 20)
# Arguments name the suites to run (native native-asan node browser python fuzz); none: all.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${MVB_JOBS:-2}"
results="$root/build/test-results"
mkdir -p "$results"
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"

passed=0 failed=0 skipped=0
suites=" $* "
want() { [[ $suites == "  " || $suites == *" $1 "* ]]; }
summary=()

# add SUITE PASSED FAILED SKIPPED
add() {
  passed=$((passed + $2)) failed=$((failed + $3)) skipped=$((skipped + $4))
  summary+=("$(printf '%-16s %4d passed, %4d failed, %4d skipped' "$1" "$2" "$3" "$4")")
  printf '\n-- %s: %d passed, %d failed, %d skipped\n' "$1" "$2" "$3" "$4"
}

# A suite that could not run at all counts as one failure, never as silence.
broken() {
  add "$1" 0 1 0
  summary[-1]+="  ($2)"
}

# Counts from ctest's JUnit file: tests, failures (+errors), skipped.
junit_counts() {
  /usr/bin/python3 - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot()
if s.tag != "testsuite":
    s = s.find("testsuite")
n = int(s.get("tests", 0))
f = int(s.get("failures", 0)) + int(s.get("errors", 0))
k = int(s.get("skipped", 0)) + int(s.get("disabled", 0))
print(n - f - k, f, k)
EOF
}

run_ctest() { # name build-dir
  local name="$1" dir="$2" xml="$results/$1.xml" counts rc
  printf '\n== %s (%s)\n' "$name" "$dir"
  if ! ls "$root"/tests/c/test_*.c >/dev/null 2>&1; then
    printf 'no tests/c/test_*.c\n'
    return
  fi
  rm -f "$xml"
  nice -n 10 ctest --test-dir "$dir" --output-on-failure -j "$jobs" --output-junit "$xml"
  rc=$?
  if [[ ! -s $xml ]]; then
    broken "$name" "ctest exited $rc without results"
    return
  fi
  read -r p f k < <(junit_counts "$xml")
  # A non-zero exit with no failed test still means something went wrong.
  if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
  add "$name" "$p" "$f" "$k"
}

build_asan() {
  local prefix
  prefix="$(tools/xnnpack.sh prefix native)" || return 1
  printf '\n== building build/native-asan\n'
  cmake -S . -B build/native-asan -G Ninja -DMVB_XNNPACK_PREFIX="$prefix" -DMVB_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/native-asan.configure.log 2>&1 ||
    { cat build/native-asan.configure.log; return 1; }
  nice -n 10 cmake --build build/native-asan -j "$jobs"
}

# Counts from a TAP stream (node --test): pass, fail (+cancelled), skipped (+todo). Skips
# are counted from the SKIP/TODO directives because node's own "# skipped" total leaves
# out skipped suites (a whole file skipped because its inputs are absent).
tap_counts() {
  # The summary is last; earlier "# ..." lines may be test output, so keep the last values.
  awk '/^# pass /{p=$3} /^# fail /{f=$3} /^# cancelled /{c=$3}
       /^ *(not )?ok [0-9]+ .*# (SKIP|TODO)/{k++} END{print p+0, f+c, k+0}' "$1"
}

run_node() { # name dir
  local name="$1" dir="$2" tap="$results/$1.tap" rc
  printf '\n== %s (node --test %s)\n' "$name" "$dir"
  if ! compgen -G "$dir/*.test.*js" >/dev/null && ! compgen -G "$dir/**/*.test.*js" >/dev/null; then
    printf 'no test files in %s\n' "$dir"
    return
  fi
  rm -f "$tap"
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "$dir/"
  rc=$?
  if [[ ! -s $tap ]] || ! grep -q '^# tests ' "$tap"; then
    broken "$name" "node --test exited $rc without a summary"
    return
  fi
  read -r p f k < <(tap_counts "$tap")
  if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
  add "$name" "$p" "$f" "$k"
}

run_python() { # name dir
  local name="$1" dir="$2" log="$results/$1.log" rc
  printf '\n== %s (python unittest %s)\n' "$name" "$dir"
  /usr/bin/python3 -m unittest discover -s "$dir" -v 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  local counts
  counts="$(/usr/bin/python3 - "$log" <<'EOF'
import re, sys
text = open(sys.argv[1], errors="replace").read()
ran = re.findall(r"^Ran (\d+) tests? in", text, re.M)
if not ran:
    sys.exit(1)
n = int(ran[-1])
def count(key):
    m = re.findall(key + r"=(\d+)", text.rsplit("\nRan ", 1)[-1])
    return int(m[-1]) if m else 0
f = count("failures") + count("errors") + count("unexpected successes")
k = count("skipped") + count("expected failures")
print(n - f - k, f, k)
EOF
)" || { broken "$name" "unittest exited $rc without a summary"; return; }
  read -r p f k <<<"$counts"
  if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi
  add "$name" "$p" "$f" "$k"
}

# Each tests/fuzz/fuzz_*.c target is one test: libFuzzer for MVB_FUZZ_SECONDS from seeds
# made now (tests/fuzz/make_seeds.py), exit 0 = passed; its committed crash inputs
# (tests/fuzz/crashes/TARGET-*.bin, regressions) are one more test, each input run once.
build_fuzz() {
  local prefix
  prefix="$(tools/xnnpack.sh prefix native)" || return 1
  printf '\n== building build/fuzz\n'
  cmake -S . -B build/fuzz -G Ninja -DCMAKE_C_COMPILER=clang-14 -DMVB_XNNPACK_PREFIX="$prefix" \
    -DMVB_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/fuzz.configure.log 2>&1 ||
    { cat build/fuzz.configure.log; return 1; }
  nice -n 10 cmake --build build/fuzz -j "$jobs" --target mvb_fuzz || return 1
  # The op models come from the node suite (tests/ops/make-op-models.mjs); make them if needed.
  if ! compgen -G "build/ops-models/*/model.json" >/dev/null; then
    node tests/ops/make-op-models.mjs >/dev/null || return 1
  fi
  rm -rf build/fuzz/seeds
  /usr/bin/python3 tests/fuzz/make_seeds.py build/fuzz/seeds
}

fuzz_target() { # target seed-kind max-len
  local t="$1" work="build/fuzz/run/$1" log="$results/$1.log" p=0 f=0 rc crash
  local env=(env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/crashes"
  # A fixed seed: a run explores the same inputs in the same order on every machine (a
  # slower one just stops earlier), so CI fails only on what a local run would find.
  # Longer campaigns by hand: see tests/fuzz/README.md.
  "${env[@]}" nice -n 10 "build/fuzz/$t" -seed="${MVB_FUZZ_SEED:-1}" \
    -max_total_time="${MVB_FUZZ_SECONDS:-20}" -runs=2000000 \
    -max_len="$3" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$work/crashes/" \
    "$work/corpus" "build/fuzz/seeds/$2" >"$log" 2>&1
  rc=$?
  if [[ $rc -eq 0 ]]; then
    p=1
    awk -v t="$t" '$2 == "DONE" {cov=$4; corp=$8} /^stat::/{v[$1]=$2}
      END{printf "%s: %s runs, %s exec/s, coverage %s, corpus %s (%s new), peak %s MB\n", t,
          v["stat::number_of_executed_units:"], v["stat::average_exec_per_sec:"], cov, corp,
          v["stat::new_units_added:"], v["stat::peak_rss_mb:"]}' "$log"
  else
    f=1
    crash="$(ls "$work/crashes/"* 2>/dev/null | head -n 1)"
    printf '%s: FAILED (libFuzzer exit %d); input: %s; log: %s\n' "$t" "$rc" "${crash:-none}" "$log"
    # The sanitizer's report: from its first line, without libFuzzer's progress lines.
    awk '/ERROR: |runtime error: |^==[0-9]+== *ERROR/{on=1} on && !/^(#[0-9]|\tNEW_FUNC|  0x)/' \
      "$log" | head -n 50
  fi
  local regressions=(tests/fuzz/crashes/"$t"-*.bin)
  if [[ -e ${regressions[0]} ]]; then
    # With the campaign's timeout: some were hangs, and libFuzzer's own default is 20 minutes.
    if "${env[@]}" "build/fuzz/$t" -timeout=10 "${regressions[@]}" >"$log.regressions" 2>&1; then
      p=$((p + 1))
      printf '%s: %d committed crash inputs run clean\n' "$t" "${#regressions[@]}"
    else
      f=$((f + 1))
      printf '%s: a committed crash input still fails (%s):\n' "$t" "$log.regressions"
      grep -E '^Running: |ERROR|runtime error|SUMMARY|^ +#[0-9]+ .* in .*/(src|tests)/' "$log.regressions" |
        head -n 40
    fi
  fi
  fuzz_p=$((fuzz_p + p)) fuzz_f=$((fuzz_f + f))
}

run_fuzz() {
  printf '\n== fuzz (libFuzzer, %s s per target)\n' "${MVB_FUZZ_SECONDS:-20}"
  if ! command -v clang-14 >/dev/null ||
    ! compgen -G "/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null; then
    printf 'skipped: clang-14 with libFuzzer is not installed (libclang-rt-14-dev)\n'
    add fuzz 0 0 1
    return
  fi
  build_fuzz || { broken fuzz "build of build/fuzz or its seeds failed"; return; }
  fuzz_p=0 fuzz_f=0
  # Room for weights/ (2.7 MB) in one input; the images are at most ~100 kB.
  fuzz_target fuzz_model_file model 3145728
  fuzz_target fuzz_load model 3145728
  fuzz_target fuzz_image image 262144
  add fuzz "$fuzz_p" "$fuzz_f" 0
}

start=$SECONDS

if ! want native; then
  :
elif [[ -d build/native ]]; then
  run_ctest native build/native
else
  broken native "build/native missing: run ./build.sh first"
fi

if want native-asan && ls tests/c/test_*.c >/dev/null 2>&1; then
  if build_asan; then
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}" \
      UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
      run_ctest native-asan build/native-asan
  else
    broken native-asan "build of build/native-asan failed"
  fi
fi

want node && [[ -d tests/node ]] && run_node node tests/node
want browser && [[ -d tests/browser ]] && run_node browser tests/browser
want python && [[ -d tests/python ]] && run_python python tests/python
want fuzz && [[ -d tests/fuzz ]] && run_fuzz

printf '\n== summary (%d s)\n' $((SECONDS - start))
if [[ ${#summary[@]} -gt 0 ]]; then printf '%s\n' "${summary[@]}"; fi
printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[[ $failed -eq 0 ]]
