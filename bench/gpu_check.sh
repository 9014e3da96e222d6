#!/usr/bin/env bash
# What a lent GPU box runs (the device tool): the GPU tests for real, then the model benchmarks
# on random-weight models of known shapes (bench/shapes.py; no weights can be downloaded there).
# Expects the wheels of what the box lacks in .whl/ and the tokenizer assets in .gpu/assets
# (python -m bench.shapes assets .gpu/assets --from <converted default model>).
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/tchat-gpu-out}
mkdir -p "$OUT"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
fi
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv
python3 -c "import torch, transformers, textual, bitsandbytes, pynvml; print('torch', torch.__version__, 'transformers', transformers.__version__, 'textual', textual.__version__, 'bnb', bitsandbytes.__version__)"
export TCHAT_GPU_OUT=$OUT
timeout 200 python3 -m pytest -q -p no:cacheprovider -s tests/gpu 2>&1 | tee "$OUT/gpu_tests.txt"
for shape in smollm2-135m smollm2-1.7b; do
    python3 -m bench.shapes "$shape" "$PWD/.gpu/$shape" --from .gpu/assets 2>&1 | tail -1
done
timeout 160 python3 -m bench --quick --only fast_vs_plain,app_vs_generate \
    --model "$PWD/.gpu/smollm2-135m" --json "$OUT/bench_135m.json" 2>&1 | tee "$OUT/bench_135m.txt"
timeout 120 python3 -m bench --quick --only fast_vs_plain \
    --model "$PWD/.gpu/smollm2-1.7b" --json "$OUT/bench_1.7b.json" 2>&1 | tee "$OUT/bench_1.7b.txt"
