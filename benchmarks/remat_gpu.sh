#!/bin/bash
# The rematerialisation measurements on a GPU (see benchmarks/RESULTS.md), as one script:
# XLA's peak memory of the train step and the largest batch within 24 GiB, with and without
# rematerialisation; step times; then real training steps in a 24 GiB memory pool.
#   OUT=/some/dir bash benchmarks/remat_gpu.sh
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONPATH=$PWD
OUT=${OUT:-/tmp}
MODEL="--depth ${DEPTH:-8} --image 32 --filters 64"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $OUT/gpu.log
timeout ${PROBE_S:-330} python3 benchmarks/remat.py $MODEL --time-batch 256 --time-steps 20 --verify --max-compiles 4 \
    2>&1 | tee $OUT/remat_gpu.log
none=$(awk '/^# best none/ {print $4}' $OUT/remat_gpu.log)
blocks=$(awk '/^# best blocks/ {print $4}' $OUT/remat_gpu.log)
total=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1)
export XLA_PYTHON_CLIENT_PREALLOCATE=true XLA_PYTHON_CLIENT_MEM_FRACTION=$(python3 -c "print(round(24 * 1024 / $total, 4))")
echo "24 GiB pool: XLA_PYTHON_CLIENT_MEM_FRACTION=$XLA_PYTHON_CLIENT_MEM_FRACTION" | tee -a $OUT/remat_gpu.log
for run in "none $none" "blocks $blocks" "none $blocks"; do
  set -- $run
  [ -n "$2" ] && timeout 90 python3 benchmarks/remat.py $MODEL --modes $1 --train-batch $2 2>&1 | grep "^# train" | tee -a $OUT/remat_gpu.log
done
