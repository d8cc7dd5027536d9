#!/bin/sh
# `make test`: the unit tests and nbval over the stored notebooks (native kernels, then each CPU
# capability in $CPU_CAPABILITIES), as two streams at once. Each stream keeps about one core busy
# (a test or a notebook kernel is mostly one Python thread), so on a 2-core machine the two finish
# in about the time of the longer one instead of their sum. The unit tests print as they run; the
# nbval stream's output is printed whole when it is done. Exit status: 0 only if both passed.
# usage: tools/run-tests.sh PYTHON [pytest args for the unit tests...]
set -u
py=$1
shift
logdir=$(mktemp -d "${TMPDIR:-/tmp}/f5lab-nbval.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

(
  for cap in native ${CPU_CAPABILITIES:-}; do
    echo "== nbval with ATEN_CPU_CAPABILITY=$cap"
    if [ "$cap" = native ]; then
      "$py" -m pytest notebooks -q -p no:cacheprovider || exit 1
    else
      ATEN_CPU_CAPABILITY=$cap "$py" -m pytest notebooks -q -p no:cacheprovider || exit 1
    fi
  done
) >"$logdir/nbval.log" 2>&1 &
nbval=$!

"$py" -m pytest tests "$@"
tests_rc=$?
wait "$nbval"
nbval_rc=$?
cat "$logdir/nbval.log"
echo "== unit tests: exit $tests_rc; nbval: exit $nbval_rc"
[ "$tests_rc" -eq 0 ] && [ "$nbval_rc" -eq 0 ]
