#!/usr/bin/env bash
# Run one test layer N times, each from a fresh clone of the current commit, and
# report every run's duration and failed tests: a flaky test shows up as a test that
# fails in some runs only. `make test-repeat N=5 [LAYER=integration|e2e|all] [STRESS=1]`.
#
#   N        runs (default 5)
#   LAYER    integration (default: never brings the lab up), e2e (needs the lab: brings
#            it up if it is not), all (`make test`: lint, unit, integration, e2e)
#   TESTS    with LAYER=integration, only these paths (e.g. tests/integration/controllers)
#   STRESS=1 keep one core busy (Debian's stress-ng --cpu 1) for as long as the runs last
#   KEEP=1   keep the clones (default: each is removed after its run; its log stays)
#
# Clones share what a machine already has: the built images (dockerd's), the pip
# cache, dockerd itself. Each makes its own venv, as a new user's clone would. All are
# cloned first, so every run tests the commit of the start even if the branch moves.
set -euo pipefail

N=${N:-5}
LAYER=${LAYER:-integration}
TESTS=${TESTS:-}
STRESS=${STRESS:-0}
KEEP=${KEEP:-0}
# A bound on the stress whatever happens to this script: 45 minutes per run.
STRESS_TIMEOUT_S=${STRESS_TIMEOUT_S:-$((N * 2700))}

case "$LAYER" in
  integration) target=test-integration ;;
  e2e) target=test-e2e ;;
  all) target=test ;;
  *) echo "LAYER must be integration, e2e or all (got '$LAYER')" >&2; exit 2 ;;
esac
if [[ -n "$TESTS" && "$LAYER" != integration ]]; then
  echo "TESTS= works with LAYER=integration only" >&2; exit 2
fi
[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "N must be a positive number (got '$N')" >&2; exit 2; }

src=$(git rev-parse --show-toplevel)
commit=$(git -C "$src" rev-parse HEAD)
if [[ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]]; then
  echo "note: uncommitted changes are not part of the runs (they test commit ${commit:0:12})" >&2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/kajitori-repeat.XXXXXX")
stress_pid=""

cleanup() {
  # Only the stress this script started, by its PID.
  if [[ -n "$stress_pid" ]] && kill -0 "$stress_pid" 2>/dev/null; then
    kill "$stress_pid" 2>/dev/null || true
    wait "$stress_pid" 2>/dev/null || true
  fi
  if [[ "$KEEP" != 1 ]]; then
    rm -rf "$work"/run-*/ 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ "$STRESS" == 1 ]]; then
  if ! command -v stress-ng >/dev/null; then
    echo "==> installing stress-ng (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install stress-ng >/dev/null \
      || { apt-get -q update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install stress-ng >/dev/null; }
  fi
  stress-ng --cpu 1 --timeout "${STRESS_TIMEOUT_S}s" --quiet &
  stress_pid=$!
  echo "==> one core kept busy: stress-ng --cpu 1 --timeout ${STRESS_TIMEOUT_S}s (pid $stress_pid)"
fi

what="make $target"
[[ -n "$TESTS" ]] && what="make $target INTEGRATION_TESTS='$TESTS'"
echo "==> $N run(s) of '$what' at ${commit:0:12}, in $work"

for i in $(seq 1 "$N"); do
  git clone -q --no-checkout "$src" "$work/run-$i"
  git -C "$work/run-$i" checkout -q --detach "$commit"
done

declare -a results=()
failed_runs=0
for i in $(seq 1 "$N"); do
  dir="$work/run-$i"
  log="$work/run-$i.log"
  start=$(date +%s)
  set +e
  if [[ -n "$TESTS" ]]; then
    (cd "$dir" && CI=true make "$target" INTEGRATION_TESTS="$TESTS") >"$log" 2>&1
  else
    (cd "$dir" && CI=true make "$target") >"$log" 2>&1
  fi
  rc=$?
  set -e
  seconds=$(($(date +%s) - start))
  duration=$(printf "%dm%02ds" $((seconds / 60)) $((seconds % 60)))
  # pytest's -ra summary: one "FAILED path::test - why" or "ERROR ..." line per failure.
  failures=$(grep -E '^(FAILED|ERROR) ' "$log" || true)
  # pytest's last line per layer (e.g. "3 failed, 187 passed in 301.2s").
  counts=$(grep -E '^(=+ )?[0-9]+ (passed|failed|error|errors|deselected|skipped)' "$log" | tail -1 | sed -E 's/^=+ //; s/ =+$//' || true)
  if [[ $rc -eq 0 ]]; then verdict=green; else verdict="RED (make exit $rc)"; failed_runs=$((failed_runs + 1)); fi
  echo "--- run $i: $verdict in $duration: ${counts:-no pytest summary (see $log)}"
  if [[ -n "$failures" ]]; then
    sed 's/^/    /' <<<"$failures"
  elif [[ $rc -ne 0 ]]; then
    echo "    last lines of $log:"
    tail -5 "$log" | sed 's/^/    /'
  fi
  results+=("$i|$verdict|$duration|${counts:--}|$(grep -cE '^(FAILED|ERROR) ' "$log" || true)")
  if [[ "$KEEP" != 1 ]]; then
    rm -rf "$dir"
  fi
done

echo
echo "==> $what at ${commit:0:12}$([[ "$STRESS" == 1 ]] && echo ', one core busy'): $((N - failed_runs))/$N green (logs: $work)"
printf '%-4s %-22s %-9s %-9s %s\n' run result duration failures "pytest"
for row in "${results[@]}"; do
  IFS='|' read -r i verdict duration counts nfail <<<"$row"
  printf '%-4s %-22s %-9s %-9s %s\n' "$i" "$verdict" "$duration" "$nfail" "$counts"
done
# Every test that failed in any run, with how many runs it failed in.
all_failures=$(cat "$work"/run-*.log | grep -E '^(FAILED|ERROR) ' | sed -E 's/^(FAILED|ERROR) ([^ ]+).*/\1 \2/' | sort | uniq -c | sort -rn || true)
if [[ -n "$all_failures" ]]; then
  echo
  echo "failed tests (runs failed in):"
  sed 's/^/  /' <<<"$all_failures"
fi
[[ $failed_runs -eq 0 ]]
