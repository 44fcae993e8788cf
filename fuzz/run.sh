#!/bin/sh
# Runs one fuzz target from the already-built binary (no rebuild), single job.
#   ./run.sh <target> [seconds] [extra libFuzzer args...]
# Equivalent to: RUSTC_BOOTSTRAP=1 cargo fuzz run <target> -- -max_total_time=<seconds> ...
set -eu
cd "$(dirname "$0")"
t=$1; secs=${2:-480}; shift; [ $# -gt 0 ] && shift
bin=target/x86_64-unknown-linux-gnu/release/$t
dict=
case $t in
  policy_expr) dict=-dict=dicts/cel.dict ;;
  decide_action) dict=-dict=dicts/action.dict ;;
esac
mkdir -p corpus/$t artifacts/$t logs
exec env ASAN_OPTIONS=detect_odr_violation=0 "$bin" -artifact_prefix=artifacts/$t/ \
  -max_total_time="$secs" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 $dict "$@" corpus/$t
