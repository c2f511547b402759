#!/usr/bin/env bash
# usage: bench/gpu_check.sh [--gpus auto|none|IDS] [SUMMARY]
#
# The GPU run, one command on a GPU machine, from a copy of the working tree,
# inside a 9-minute budget: grader doctor; 02 and 05's example classes
# graded on the CPU, on the GPUs one submission each (--gpus), and four
# sandboxes to a GPU (--gpu-share 4); every score compared with the CPU
# run's; what a sandbox sees (CUDA_VISIBLE_DEVICES, its GPUs and its memory
# cap) from inside one; seconds per submission of each run. It makes the
# venv from requirements.lock itself, and writes one summary file (SUMMARY,
# default $OUT/gpu_check.txt, else /tmp/gpu_check.txt) as it goes.
#
# Here, with no GPU: bench/gpu_check.sh --gpus none (a dry run: the three
# runs are CPU runs, and must agree).
set -uo pipefail
cd "$(dirname "$0")/.."
gpus=auto
if [ "${1:-}" = --gpus ]; then gpus=$2; shift 2; fi
summary=${1:-${OUT:-/tmp}/gpu_check.txt}
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

make -s .venv/.installed >/dev/null || { say "FAILED: make .venv/.installed"; exit 1; }
grader=.venv/bin/grader
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "== $(date -u +%FT%TZ) $(nproc) cores, --gpus $gpus"
{ nvidia-smi -L 2>&1 || echo "no nvidia-smi"; } | tee -a "$summary"
say "== grader doctor"
"$grader" doctor 2>&1 | tee -a "$summary"

run() {  # LABEL ASSIGNMENT ARGS... -> grades into $work/LABEL-ASSIGNMENT, says its speed
    local label=$1 assignment=$2
    shift 2
    local out=$work/$label-$assignment started=$SECONDS
    "$grader" grade "$assignment" --out "$out" "$@" >"$out.log" 2>&1
    local status=$? count
    count=$(find "$out/staff/results/$assignment" -name '*.json' 2>/dev/null | wc -l)
    local seconds=$((SECONDS - started))
    say "$label $assignment: exit $status, $count graded in ${seconds} s" \
        "($(awk -v s="$seconds" -v n="$count" 'BEGIN { if (n) printf "%.1f", s / n; else print "-" }') s each);" \
        "$(tail -n 1 "$out.log")"
}

compare() {  # ASSIGNMENT LABEL... -> each student's score per run; DIFFERENT where one differs
    .venv/bin/python - "$work" "$@" <<'EOF' | tee -a "$summary"
import json, sys
from pathlib import Path
work, assignment, *labels = sys.argv[1:]
scores = {}
for label in labels:
    for path in sorted(Path(work, f"{label}-{assignment}", "staff", "results", assignment).glob("*.json")):
        scores.setdefault(path.stem, {})[label] = json.loads(path.read_text())["score"]
differ = 0
for student, by_run in sorted(scores.items()):
    row = [by_run.get(label) for label in labels]
    same = len(set(row)) == 1
    differ += not same
    print(f"  {student:<8}" + "".join(f"{label}={score:<6}" for label, score in zip(labels, row))
          + ("" if same else "  DIFFERENT"))
print(f"{assignment}: {len(scores)} students, {differ} with a score that differs from the CPU's")
EOF
}

for assignment in 02_layers 05_cnn; do
    say "== $assignment"
    run cpu "$assignment" --gpus none
    run gpu "$assignment" --gpus "$gpus"
    run share "$assignment" --gpus "$gpus" --gpu-share 4
    compare "$assignment" cpu gpu share
done

say "== what a sandbox sees (--gpus $gpus --gpu-share 4, 8 probes)"
probe=$work/probe
cp -r tests/files/probe_course "$probe"
.venv/bin/python - "$probe/solutions/00_probe/00_probe.ipynb" <<'EOF'
import sys
import nbformat
path = sys.argv[1]
notebook = nbformat.read(path, as_version=4)
notebook.cells[-1].source = '''import os


def devices():
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    caps = [tf.config.get_logical_device_configuration(g) for g in gpus]
    limits = [[c.memory_limit for c in cap] if cap else None for cap in caps]
    return (f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')} "
            f"GPUs={[g.name for g in gpus]} memory caps (MB)={limits}")
'''
nbformat.write(notebook, path)
EOF
mkdir "$work/class" "$work/records"
for n in 1 2 3 4 5 6 7 8; do cp "$probe/solutions/00_probe/00_probe.ipynb" "$work/class/s$n.ipynb"; done
TFGRADE_PROBE_DIR=$work/records "$grader" --root "$probe" grade 00_probe "$work/class" \
    --out "$work/probe-out" --gpus "$gpus" --gpu-share 4 >"$work/probe.log" 2>&1
say "probe: exit $?; $(tail -n 1 "$work/probe.log")"
for record in "$work"/records/*.txt; do [ -e "$record" ] && { cat "$record"; echo; }; done | sort | uniq -c | tee -a "$summary"
say "== done in ${SECONDS} s; summary in $summary"
