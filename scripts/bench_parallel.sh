#!/usr/bin/env bash
# Run the deblurring benches side by side on a machine with many cores (each bench gets JOBS
# worker processes) and pack their tables, plots and real-photo sheets into OUT/benches.tgz.
#   scripts/bench_parallel.sh DATA OUT [JOBS [REAL_JOBS]]
# DATA holds test/ (Set12, Kodak24), levin09/ and real_lai16/, as ../shared/data does.
set -euo pipefail
data=$1 out=$2 jobs=${3:-4} real_jobs=${4:-${3:-4}}
gencor=${GENCOR:-gencor}
# LIMIT=SECONDS stops each bench after that long (what it wrote so far is still packed).
if [ -n "${LIMIT:-}" ]; then gencor="timeout $LIMIT $gencor"; fi
mkdir -p "$out/benches"
$gencor bench noisy --data "$data/test" --sigma 0.01 --jobs "$jobs" --out "$out/benches" --quiet >"$out/benches/noisy_0.01.log" 2>&1 &
$gencor bench noisy --data "$data/test" --sigma 0.02 --jobs "$jobs" --out "$out/benches" --quiet >"$out/benches/noisy_0.02.log" 2>&1 &
$gencor bench levin --data "$data/levin09" --jobs "$jobs" --out "$out/benches" --quiet >"$out/benches/levin.log" 2>&1 &
$gencor bench real --data "$data/real_lai16" --jobs "$real_jobs" --out "$out/benches" --quiet >"$out/benches/real.log" 2>&1 &
status=0
for job in $(jobs -p); do wait "$job" || status=1; done
tar czf "$out/benches.tgz" -C "$out" benches && rm -rf "$out/benches"
exit $status
