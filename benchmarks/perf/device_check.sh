#!/usr/bin/env bash
# The GPU figures of docs/PERFORMANCE.md in one run, on a CUDA machine where this project and its
# dependencies are installed: the CUDA test (every fidelity number the CPU gives, on the GPU),
# the fidelity table at paper scale with ganctrl's stage split, and the neighbour table. Each step
# has its own time limit, so one slow step cannot eat the others' time.
#
#   bash benchmarks/perf/device_check.sh                   # python from PATH
#   bash benchmarks/perf/device_check.sh "python3 -P"      # an installed wheel, not the checkout
set -u
python=${1:-python}

step() {
    local limit=$1
    shift
    echo "== $* (limit ${limit} s)"
    timeout "$limit" "$@"
    echo "== exit status $?"
}

# shellcheck disable=SC2086  # $python may carry interpreter flags
step 120 $python -m pytest -q -p no:cacheprovider tests/test_fidelity.py -k cuda
# shellcheck disable=SC2086
step 300 $python -m ganctrl.benchmarks.perf.fidelity --device cuda --n 50000 --features 2048 \
    --repeats 1 --neighbours-n 0 --manifold-n 0 --sweep /nonexistent
# shellcheck disable=SC2086
step 180 $python -m ganctrl.benchmarks.perf.fidelity --device cuda --n 1000 --repeats 1 \
    --neighbours-n 100000 --manifold-n 0 --sweep /nonexistent
