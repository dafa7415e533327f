"""A >= 100M-parameter model trained on a GPU with mixed precision, streamed to ergowatch.

    python3 agents/python/examples/gpu_large.py --address localhost:7479 --run big-1

A stack of wide residual MLP blocks (default 7 blocks of 4096 -> 4096 -> 4096, about 235M
parameters), AdamW, fp16 autocast with a GradScaler, gradient clipping after ergowatch, level
"full". The loop itself never reads a value back from the GPU; ``--check-syncs`` turns on
``torch.cuda.set_sync_debug_mode("error")`` around ``watch.step()`` so that any host sync it
made would raise. Without CUDA it says so and exits (``--device cpu --width 256`` runs a small
version on CPU, for a quick check of the script itself).
"""

import argparse
import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

import ergowatch  # noqa: E402


class Block(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.up = torch.nn.Linear(width, width)
        self.down = torch.nn.Linear(width, width)

    def forward(self, x):
        return x + self.down(torch.nn.functional.gelu(self.up(self.norm(x))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", default="localhost:7479")
    ap.add_argument("--run", default="gpu-large-1")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--width", type=int, default=4096)
    ap.add_argument("--blocks", type=int, default=7)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--level", default="full", choices=["basic", "standard", "full"])
    ap.add_argument("--check-syncs", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.device == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available here: nothing to do (try --device cpu --width 256 for a small CPU run)")
        return 0
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = torch.nn.Sequential(*[Block(args.width) for _ in range(args.blocks)], torch.nn.Linear(args.width, 1))
    model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cuda = device.type == "cuda"
    if hasattr(torch.amp, "GradScaler"):  # torch >= 2.3; torch.cuda.amp.GradScaler is deprecated there
        scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    else:
        scaler = torch.cuda.amp.GradScaler(enabled=cuda)
    x = torch.randn(args.batch, args.width, device=device)
    y = torch.randn(args.batch, 1, device=device)
    print(f"{n_params / 1e6:.1f}M parameters on {device}")

    with ergowatch.watch(model, opt, run=args.run, address=args.address, level=args.level, scaler=scaler,
                         labels={"example": "gpu_large"}) as watch:
        start = time.monotonic()
        for _ in range(args.steps):
            with torch.autocast(device_type=device.type, dtype=torch.float16 if cuda else torch.bfloat16):
                loss = torch.nn.functional.mse_loss(model(x).float(), y)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            if args.check_syncs and cuda:
                torch.cuda.set_sync_debug_mode("error")
            watch.step(loss, batch_size=args.batch)
            if args.check_syncs and cuda:
                torch.cuda.set_sync_debug_mode("default")
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
            opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        elapsed = time.monotonic() - start
    print(f"{args.steps} steps in {elapsed:.1f} s ({1000 * elapsed / args.steps:.1f} ms/step); "
          f"acknowledged {watch.agent.acked_count}, dropped {watch.agent.dropped_count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
