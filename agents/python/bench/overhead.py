"""Step-time overhead of ergowatch.watch at each level, against the same loop without it.

    /usr/bin/python3 agents/python/bench/overhead.py                 # CPU, default MLP
    /usr/bin/python3 agents/python/bench/overhead.py --device cuda --width 4096 --depth 8
    /usr/bin/python3 agents/python/bench/overhead.py --device cuda --width 4096 --depth 8 --amp

Every configuration trains the same MLP (SGD with momentum) and streams through a real
ergowatch.Agent to the real monitor in its own process (``--monitor real``, the default when
monitor/target/ergowatch.jar is built) or to an in-process EWP/1 server (``--monitor fake``,
tests/support.FakeMonitor, whose work then shares the GIL and counts as overhead), so the cost
includes recording and the network thread. Configurations are interleaved repeat by repeat
(baseline, basic, standard, full, baseline, ...) so that drift of the machine hits them
alike; each cell is the median over repeats of the mean step time of ``--steps`` steps.

It also prints the geometry pass alone (Geometry.step on fixed parameters and gradients)
against the physical bound, one read of the gradients and the weights (a sum over each flat
fp32 vector), and, on CUDA, the host syncs per step (torch.cuda.set_sync_debug_mode counts
them as warnings) and the extra device memory the watcher holds.
"""

import argparse
import os
import statistics
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import torch  # noqa: E402

from ergowatch import geometry  # noqa: E402
from ergowatch.watcher import Watcher  # noqa: E402

LEVELS = ("none", "basic", "standard", "standard/1")  # standard/1: every step, no budget


def build(args, device):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(args.inputs, args.width), torch.nn.ReLU()]
    for _ in range(args.depth - 1):
        layers += [torch.nn.Linear(args.width, args.width), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(args.width, 10))
    model = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(args.batch, args.inputs, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    return model, opt, x, y


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(level, args, device, monitor):
    model, opt, x, y = build(args, device)
    watch = None
    if level != "none":
        name, _, every = level.partition("/")
        watch = Watcher(model, opt, run=f"bench-{name}{every}", address=monitor.address, level=name,
                        every=int(every) if every else args.every, projection_every=args.projection_every,
                        ref_every=100, ref_lag=100)
    mem0 = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0

    def one():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp):
            loss = torch.nn.functional.cross_entropy(model(x).float(), y)
        loss.backward()
        if watch is not None:
            watch.step(loss, batch_size=args.batch)
        opt.step()
        opt.zero_grad(set_to_none=False)

    for _ in range(args.warmup):
        one()
    sync(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        one()
    sync(device)
    per_step = (time.perf_counter() - start) / args.steps
    extra = (torch.cuda.memory_allocated(device) - mem0) if device.type == "cuda" else 0
    if watch is not None:
        watch.close()
    return per_step, extra, sum(p.numel() for p in model.parameters())


def geometry_pass(args, device):
    """Geometry.step alone, at standard level, vs one read of g and w."""
    model, opt, x, y = build(args, device)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    params = list(model.parameters())
    layout = geometry.FlatLayout(params, [str(i) for i in range(len(params))])
    geo = geometry.Geometry(layout, "standard")
    w = layout.load_params(layout.empty())
    g = layout.load_grads(layout.empty())
    flat_g = geo.flat_grads(None, None)

    def timed(fn, n=20):
        fn()
        sync(device)
        t = time.perf_counter()
        for _ in range(n):
            fn()
        sync(device)
        return (time.perf_counter() - t) / n

    step = [0]

    def geo_step():
        geo.block(step[0], flat_g)
        step[0] += 1

    read = min(timed(lambda: (w.sum(), g.sum())) for _ in range(3))
    passes = min(timed(geo_step) for _ in range(3))
    return passes, read


def syncs_per_step(args, device, monitor, level):
    """Host syncs inside watch.step(), counted by torch's sync debug mode (CUDA only)."""
    model, opt, x, y = build(args, device)
    watch = Watcher(model, opt, run=f"bench-sync-{level}", address=monitor.address, level=level)
    count = 0
    for _ in range(args.steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            watch.step(loss)
            torch.cuda.set_sync_debug_mode("default")
        count += sum(1 for w in caught if "synchroniz" in str(w.message))
        opt.step()
        opt.zero_grad()
    watch.close()
    return count / args.steps


def open_monitor(kind):
    """The monitor the agent streams to, as a context manager with ``address``; prints which."""
    import unittest
    from support import FakeMonitor, MonitorProcess, monitor_jar
    if kind != "fake":
        try:
            jar = monitor_jar()
        except unittest.SkipTest as not_built:
            if kind == "real":
                raise SystemExit(f"--monitor real: {not_built}")
        else:
            print(f"streaming to the real monitor ({jar}, its own process)", flush=True)
            return MonitorProcess(jar)
    print("streaming to tests/support.FakeMonitor (in this process: its work counts as overhead)", flush=True)
    return FakeMonitor()


def main(argv=None):
    ap = argparse.ArgumentParser(description="ergowatch.watch overhead per level")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--inputs", type=int, default=512)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--projection-every", type=int, default=10)
    ap.add_argument("--every", type=int, default=None,
                    help="geometry block length of basic/standard (default: chosen by the 1%% budget)")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast for forward and backward (fp32 weights)")
    ap.add_argument("--monitor", choices=("auto", "real", "fake"), default="auto",
                    help="real: the monitor jar in its own process, as users run it; fake: tests/support's "
                         "in-process server, whose decoding and per-record ACKs share this process's GIL and "
                         "so count as overhead; auto (default): real when monitor/target/ergowatch.jar exists")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    import logging
    logging.getLogger("ergowatch").setLevel(logging.ERROR)
    with open_monitor(args.monitor) as monitor:
        times = {level: [] for level in LEVELS}
        extra = {}
        n_params = 0
        for _ in range(args.repeats):
            for level in LEVELS:
                t, mem, n_params = measure(level, args, device, monitor)
                times[level].append(t)
                extra[level] = mem
        base = statistics.median(times["none"])
        print(f"ergowatch overhead: MLP {args.inputs}-{'x'.join([str(args.width)] * args.depth)}-10, "
              f"{n_params / 1e6:.2f}M parameters, batch {args.batch}, {device}, torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads, every={args.every}{', bf16 autocast' if args.amp else ''}; "
              f"median of {args.repeats} x {args.steps} steps")
        print(f"{'level':<10}{'ms/step':>10}{'overhead':>10}{'min..max ms':>18}" +
              (f"{'extra MiB':>11}" if device.type == "cuda" else ""))
        for level in LEVELS:
            m = statistics.median(times[level])
            lo, hi = min(times[level]), max(times[level])
            over = "" if level == "none" else f"{100 * (m - base) / base:+.1f}%"
            line = f"{level:<10}{1000 * m:>10.2f}{over:>10}{f'{1000 * lo:.2f}..{1000 * hi:.2f}':>18}"
            if device.type == "cuda":
                line += f"{extra[level] / 2**20:>11.0f}"
            print(line)
        passes, read = geometry_pass(args, device)
        print(f"geometry block start (Geometry.block, standard): {1000 * passes:.2f} ms; floor, one read of g and "
              f"w: {1000 * read:.2f} ms; ratio {passes / read:.1f}x (its state alone is 5 reads and 3 writes of d "
              f"values: 4x the floor)")
        if device.type == "cuda":
            for level in ("basic", "standard", "full"):
                print(f"host syncs per watch.step() at {level}: {syncs_per_step(args, device, monitor, level):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
