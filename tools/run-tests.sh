#!/bin/sh
# `make test`: the unit tests and nbval over the stored notebooks (native kernels, then each CPU
# capability in $CPU_CAPABILITIES), as two streams at once. Each stream keeps about one core busy
# (a test or a notebook kernel is mostly one Python thread), so on a 2-core machine the two finish
# in about the time of the longer one instead of their sum. The second stream also runs the test
# files in $SECOND_STREAM (the sweep's and the browser's, about 5 of the unit tests' 15 minutes),
# so the two streams take about as long. The unit tests print as they run; the second stream's output is printed
# whole when it is done. Exit status: 0 only if both passed.
# usage: tools/run-tests.sh PYTHON
set -u
py=$1
second=${SECOND_STREAM:-tests/test_sweep.py tests/test_browser.py}
ignore=""
for f in $second; do ignore="$ignore --ignore=$f"; done
logdir=$(mktemp -d "${TMPDIR:-/tmp}/f5lab-nbval.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

(
  rc=0
  for cap in native ${CPU_CAPABILITIES:-}; do
    echo "== nbval with ATEN_CPU_CAPABILITY=$cap"
    if [ "$cap" = native ]; then
      "$py" -m pytest notebooks -q -p no:cacheprovider || rc=1
    else
      ATEN_CPU_CAPABILITY=$cap "$py" -m pytest notebooks -q -p no:cacheprovider || rc=1
    fi
  done
  echo "== unit tests in $second"
  "$py" -m pytest $second -q -p no:cacheprovider || rc=1
  exit $rc
) >"$logdir/nbval.log" 2>&1 &
nbval=$!

"$py" -m pytest tests $ignore
tests_rc=$?
wait "$nbval"
nbval_rc=$?
cat "$logdir/nbval.log"
echo "== unit tests: exit $tests_rc; nbval and $second: exit $nbval_rc"
[ "$tests_rc" -eq 0 ] && [ "$nbval_rc" -eq 0 ]
