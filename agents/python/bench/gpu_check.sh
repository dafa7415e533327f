#!/usr/bin/env bash
# The PyTorch agent on a GPU machine, in one go: the whole Python test suite (the CUDA tests
# included), the step-time overhead per level on a ~120M-parameter MLP in fp32 and in bf16
# autocast (geometry every step and every 10 steps), and the ~235M-parameter mixed-precision example with every host sync made an
# error inside watch.step(). Writes its logs to the folder given (default ./gpu-check).
#
#     bash agents/python/bench/gpu_check.sh /tmp/gpu-check
#
# Needs python3 with torch and a CUDA device; no monitor (a fake EWP/1 server stands in).
set -uo pipefail
out=$(mkdir -p "${1:-gpu-check}" && cd "${1:-gpu-check}" && pwd)
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
status=0
step() { echo "== $1 ($(date +%T))"; }

step "device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/device.txt"
python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' | tee -a "$out/device.txt" || exit 1

step "tests (all suites)"
timeout 300 python3 tests/run_tests.py all > "$out/tests.log" 2>&1 || status=1
tail -n 4 "$out/tests.log"
grep -E "^(FAIL|ERROR):" "$out/tests.log" | head -n 20

step "overhead fp32"
timeout 240 python3 bench/overhead.py --device cuda --width 4096 --depth 8 --batch 256 --steps 20 --repeats 5 \
    2>&1 | tee "$out/overhead-fp32.txt" || status=1
step "overhead bf16 autocast"
timeout 240 python3 bench/overhead.py --device cuda --width 4096 --depth 8 --batch 256 --steps 20 --repeats 5 --amp \
    2>&1 | tee "$out/overhead-bf16.txt" || status=1

step "overhead fp32, geometry every 10 steps"
timeout 240 python3 bench/overhead.py --device cuda --width 4096 --depth 8 --batch 256 --steps 20 --repeats 5 --every 10 \
    2>&1 | tee "$out/overhead-fp32-every10.txt" || status=1
step "overhead bf16 autocast, geometry every 10 steps"
timeout 240 python3 bench/overhead.py --device cuda --width 4096 --depth 8 --batch 256 --steps 20 --repeats 5 --amp \
    --every 10 2>&1 | tee "$out/overhead-bf16-every10.txt" || status=1

step "gpu_large.py --check-syncs (235M parameters, fp16 + GradScaler, AdamW, level full)"
port=17479
python3 -c "
import sys, time; sys.path.insert(0, 'tests')
from support import FakeMonitor
with FakeMonitor(port=$port) as m:
    time.sleep(600)
" &
fake=$!
sleep 2
timeout 240 python3 examples/gpu_large.py --address 127.0.0.1:$port --steps 100 --check-syncs 2>&1 \
    | tee "$out/gpu_large.txt" || status=1
kill $fake 2>/dev/null
step "done: status $status"
exit $status
