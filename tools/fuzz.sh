#!/usr/bin/env bash
# Builds the fuzz targets of Fuzz/ (libFuzzer + AddressSanitizer/LeakSanitizer, release) and runs
# each for SECONDS over a copy of its seed corpus in a temporary directory, so the committed
# corpus is never written to. Exits non-zero on any crash, invariant failure, leak, timeout or OOM,
# after printing the log's end and where the failing input was kept.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     SECONDS per target: argument, else $FUZZ_SECONDS, else 15
#
# Environment: FUZZ_SECONDS, FUZZ_ARTIFACTS (failing inputs are copied there; default
# /tmp/sluice-fuzz-artifacts), FUZZ_KEEP=1 (keep the temporary directories, with the grown corpora),
# SWIFT (default swift). Reproduce a failure: Fuzz/.build/release/<TARGET> <input file>.
# The seeds and dictionaries come from Fuzz/seeds.py.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-15}}
[ $# -gt 0 ] && shift
ALL_TARGETS=(FuzzRequestHead FuzzResponseHead FuzzChunked FuzzConfig FuzzProxyProtocol FuzzHTTP2)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")
ARTIFACTS=${FUZZ_ARTIFACTS:-/tmp/sluice-fuzz-artifacts}
# (0 would mean "no limit" to libFuzzer.)
case "$SECONDS_PER_TARGET" in
  ''|*[!0-9]*|0) echo "fuzz.sh: SECONDS must be a whole number >= 1, got '$SECONDS_PER_TARGET'" >&2; exit 2;;
esac

# The toolchain brings its own libFuzzer and sanitizer runtimes (LeakSanitizer is part of ASan's);
# no Debian clang package is needed. Say so clearly if this toolchain lacks them.
swift_bin=$(command -v "$SWIFT") || { echo "fuzz.sh: $SWIFT not found" >&2; exit 2; }
rt_dir="$(dirname "$(readlink -f "$swift_bin")")/../lib/swift/clang/lib/linux"
arch=$(uname -m)
for lib in fuzzer asan; do
  if [ ! -e "$rt_dir/libclang_rt.$lib-$arch.a" ]; then
    echo "fuzz.sh: $rt_dir/libclang_rt.$lib-$arch.a is missing: this Swift toolchain cannot build fuzzers" >&2
    exit 2
  fi
done

export SWIFT_BACKTRACE=enable=no  # a crash must not leave swift-backtrace hanging
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

echo "fuzz: building Fuzz/ (release, libFuzzer + AddressSanitizer)"
build_start=$(date +%s)
# Not `--sanitize fuzzer --sanitize address`: SwiftPM passes them as two -sanitize= flags in no
# fixed order and swiftc keeps only the last, so a build got either coverage or ASan, never both.
# `--sanitize fuzzer` makes SwiftPM link libFuzzer's main; the combined flag, passed after it,
# instruments every module for both.
build_log=$(mktemp "${TMPDIR:-/tmp}/sluice-fuzz-build.XXXXXX")
build_rc=0
"$SWIFT" build --package-path Fuzz -c release --sanitize fuzzer \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >"$build_log" 2>&1 || build_rc=$?
# gold warns once per link about an ASan symbol it cannot export; harmless.
grep -v "Cannot export local symbol '__asan_extra_spill_area'" "$build_log" || true
rm -f "$build_log"
[ "$build_rc" -eq 0 ] || { echo "fuzz.sh: build failed (exit $build_rc)" >&2; exit 1; }
# Check that both instrumentations made it into each binary.
if command -v objdump >/dev/null; then
  for t in "${TARGETS[@]}"; do
    code=$(objdump -d --no-show-raw-insn "Fuzz/.build/release/$t" 2>/dev/null || true)
    asan=$(grep -c 'call.*__asan_report' <<<"$code" || true)
    cov=$(grep -c 'call.*__sanitizer_cov_trace' <<<"$code" || true)
    if [ "$asan" -lt 100 ] || [ "$cov" -lt 100 ]; then
      echo "fuzz.sh: Fuzz/.build/release/$t is not instrumented for both ASan ($asan checks) and coverage ($cov)" >&2
      exit 1
    fi
  done
fi
echo "fuzz: built in $(( $(date +%s) - build_start ))s; ${SECONDS_PER_TARGET}s per target"

failed=()
summaries=()
for t in "${TARGETS[@]}"; do
  [ -d "Fuzz/Corpus/$t" ] || { echo "fuzz.sh: unknown target $t (no Fuzz/Corpus/$t)" >&2; exit 2; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz-$t.XXXXXX")
  cp -R "Fuzz/Corpus/$t" "$work/corpus"
  mkdir "$work/artifacts"
  dict=()
  [ -f "Fuzz/Corpus/$t.dict" ] && dict=("-dict=Fuzz/Corpus/$t.dict")
  rc=0
  # The outer timeout only guards against a fuzzer that stops answering; libFuzzer ends itself.
  timeout --signal=KILL $((SECONDS_PER_TARGET + 120)) "Fuzz/.build/release/$t" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1 || rc=$?

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log" | tail -1)
  status_line=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$status_line")
  seeds=$(find "Fuzz/Corpus/$t" -type f | wc -l)
  if [ "$rc" -eq 0 ] && ! grep -qE '^(==[0-9]+== ?ERROR|SUMMARY: )' "$work/log"; then
    result=ok
  else
    result="FAILED (exit $rc)"
    failed+=("$t")
  fi
  summary=$(printf '%-17s %-16s runs=%s (%s/s) cov=%s ft=%s corpus=%s->%s rss=%sMB' \
    "$t" "$result" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$seeds" "${corp:-?}" "${rss:-?}")
  summaries+=("$summary")
  echo "fuzz: $summary"
  if [ "$result" != ok ]; then
    echo "---- $t: end of log ($work/log) ----"
    tail -n 60 "$work/log"
    mkdir -p "$ARTIFACTS"
    for a in "$work"/artifacts/*; do
      [ -e "$a" ] || continue
      kept="$ARTIFACTS/$t-$(basename "$a")"
      cp "$a" "$kept"
      echo "---- failing input kept at $kept ($(wc -c <"$a") bytes); reproduce: Fuzz/.build/release/$t $kept"
      od -A d -c "$a" | head -n 40
    done
    echo "----"
  fi
  if [ "${FUZZ_KEEP:-0}" = 1 ]; then echo "fuzz: kept $work"; else rm -rf "$work"; fi
done

echo "fuzz: summary"
printf '  %s\n' "${summaries[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all targets passed"
