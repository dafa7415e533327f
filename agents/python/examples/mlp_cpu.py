"""A small MLP on synthetic data, on CPU, streamed to a running ergowatch monitor.

Start a monitor first (from the repository root), then run this:

    ./ergowatch serve --ingest-port 7479 --http-port 9479
    python3 agents/python/examples/mlp_cpu.py --address localhost:7479 --run mlp-cpu-1
    curl localhost:9479/api/runs/mlp-cpu-1

It trains for a few seconds (300 minibatch SGD steps by default) at the standard level and
prints the monitor's verdict URL. Without a monitor it still trains: the agent buffers, warns,
and drops the records when it closes. Needs torch (Debian: /usr/bin/python3 with python3-torch).
"""

import argparse
import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

import ergowatch  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--address", default="localhost:7479", help="the monitor's EWP/1 address")
    ap.add_argument("--run", default="mlp-cpu-1")
    ap.add_argument("--job", default="examples")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--level", default="standard", choices=["basic", "standard", "full"])
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    torch.manual_seed(0)
    x = torch.randn(4096, 20)
    w_true = torch.randn(20, 1)
    y = torch.tanh(x @ w_true) + 0.1 * torch.randn(4096, 1)
    model = torch.nn.Sequential(torch.nn.Linear(20, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    start = time.monotonic()
    with ergowatch.watch(model, opt, run=args.run, address=args.address, job=args.job, level=args.level,
                         labels={"example": "mlp_cpu"}) as watch:
        for step in range(args.steps):
            idx = torch.randint(0, x.shape[0], (args.batch,))
            loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
            loss.backward()
            watch.step(loss, batch_size=args.batch)   # after backward, before optimizer.step()
            opt.step()
            opt.zero_grad()
        trained = time.monotonic() - start
        agent = watch.agent
    print(f"{args.steps} steps in {trained:.1f} s; last loss {float(loss):.4f}; "
          f"records acknowledged {agent.acked_count}, dropped {agent.dropped_count}")
    print(f"verdict: curl http://<monitor-host>:9479/api/runs/{args.run}")
    return 0 if agent.dropped_count == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
