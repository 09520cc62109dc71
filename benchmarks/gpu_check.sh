#!/bin/bash
# The accelerator checks of the performance work, as one script (see benchmarks/RESULTS.md):
# the performance and training tests on the GPU backend (transfer guard included), then the
# fused-vs-single-step table that steps_per_execution="auto" rests on.
#   OUT=/some/dir bash benchmarks/gpu_check.sh
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONPATH=$PWD
OUT=${OUT:-/tmp}
python3 -c "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())
lo = jax.jit(lambda w, x: x @ w).lower(jax.numpy.ones((20, 32)), jax.numpy.ones((8, 20)))
print('lowered cost_analysis:', lo.cost_analysis()); print('compiled cost_analysis flops:', lo.compile().cost_analysis().get('flops'))" 2>&1 | tee $OUT/versions.log
timeout 200 python3 -m pytest -p no:xdist -p no:cacheprovider -q -o addopts="" --tb=short \
    tests/test_performance.py tests/test_training.py -k "not digits" 2>&1 | tee $OUT/tests.log | tail -40
timeout 180 python3 benchmarks/fusion.py --workloads tiny,mlp,cnn,resnet --steps 128 --epochs 3 --repeats 2 \
    2>&1 | tee $OUT/fusion.log
