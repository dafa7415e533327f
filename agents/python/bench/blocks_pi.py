"""How Π reads a real stall when the geometry is measured over blocks of k steps.

    /usr/bin/python3 agents/python/bench/blocks_pi.py              # k = 1, 9, 17, 33 and the budget uncapped
    /usr/bin/python3 agents/python/bench/blocks_pi.py --k 1 9 --horizon 1000 250

The run is test_real_training's stall: an MLP 64-128-10 on sklearn's digits, batch 64, SGD at
lr 0.1 with weight decay 5e-3, 12 000 steps (the loss is flat from about step 2 000 and the
weights' norm settles on its 1/(lr wd) = 2 000-step scale). Each configuration streams to the
real monitor (monitor/target/ergowatch.jar, built by ``mvn install``), and the script prints
the final Π with its standard error and rows, and the step at which the run entered
stalled_nonstationary (or that it never did). This is the measurement behind the budget's
``max_block`` (agents/python/README.md, "Why blocks stop at 9 steps"). About 10 s a row.
"""

import argparse
import logging
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import support  # noqa: E402
import torch  # noqa: E402

import ergowatch  # noqa: E402


def train(monitor, x, y, run, steps, every, horizon, max_block):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-3)
    g = torch.Generator().manual_seed(0)
    perm, pos = torch.randperm(len(x), generator=g), 0
    kw = dict(every=every) if every else dict(max_block=max_block)
    with ergowatch.watch(model, opt, run=run, address=monitor.address, job="blocks", ema_horizon=horizon, **kw) as w:
        for _ in range(steps):
            if pos + 64 > len(x):
                perm, pos = torch.randperm(len(x), generator=g), 0
            idx = perm[pos:pos + 64]
            pos += 64
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            w.step(loss, batch_size=64)
            opt.step()
            opt.zero_grad()
    support.wait_until(lambda: (monitor.run(run) or {}).get("steps") == steps, timeout=60, what=f"{run} in the monitor")
    return monitor.run(run)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--k", nargs="+", default=["1", "9", "17", "33", "budget"],
                   help="block lengths; 'budget' is the default budget without its cap")
    p.add_argument("--horizon", nargs="+", type=float, default=[1000.0], help="EMA centre horizons (steps)")
    p.add_argument("--steps", type=int, default=12_000)
    args = p.parse_args()
    from sklearn.datasets import load_digits
    logging.getLogger("ergowatch").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    d = load_digits()
    x, y = torch.tensor(d.data / 16.0, dtype=torch.float32), torch.tensor(d.target)
    with support.MonitorProcess(support.monitor_jar()) as monitor:
        print(f"{'blocks':>8} {'horizon':>8} {'Pi':>8} {'+/-':>8} {'rows':>6} {'state':>22} stalled at")
        for h in args.horizon:
            for k in args.k:
                every = None if k == "budget" else int(k)
                r = train(monitor, x, y, f"blocks-{k}-{h:g}", args.steps, every, h, 1025)
                st = r["statistics"]
                entered = [e["step"] for e in r["events"] if e["to"] == "stalled_nonstationary"]
                pi, se = st["stationarity_ratio"], st["stationarity_ratio_stderr"]
                print(f"{k:>8} {h:>8g} {pi if pi is None else round(pi, 3)!s:>8} "
                      f"{se if se is None else round(se, 3)!s:>8} {st['stationarity_ratio_rows']!s:>6} "
                      f"{r['state']:>22} {entered[0] if entered else 'never'}", flush=True)


if __name__ == "__main__":
    main()
