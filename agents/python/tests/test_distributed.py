"""Distributed runs with torch.distributed on CPU: gloo, 2 processes (torch.multiprocessing).

- REPLICATED (DistributedDataParallel): rank 0 sends the geometry of the all-reduced
  gradient; every rank sends its loss and grad_local_sq, its own ‖g‖² before the all-reduce
  (from a DDP communication hook), checked against a float64 recomputation of that rank's
  gradient on a copy of the model.
- SHARDED: FSDP needs CUDA in torch 1.13 (and FSDP on CPU/gloo is not practical in 2.x
  either), so the partial-sum logic is tested with a manual split: each rank owns some
  parameters, one parameter is replicated on both and counted on rank 0 only; the sum over
  ranks of every additive series equals what one unsharded watcher measures.
"""

import copy
import os
import tempfile
import unittest
from pathlib import Path

import support

torch = support.require_torch()

import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

from ergowatch.watcher import Watcher  # noqa: E402

WORLD = 2
ADDITIVE = ("nonfinite", "grad_sq", "weight_sq", "update_sq", "update_dot_prev", "grad_dot_update", "ema_grad_dot",
            "ema_dist_sq", "ema_update_dot", "ref_grad_dot", "ref_dist_sq", "ref_grad_sq")


class Sink:
    def __init__(self):
        self.rows = {}

    def record_at(self, step, time_ns, values):
        self.rows[step] = dict(values)

    def close(self, status="completed", message=""):
        pass


def tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))


def flat64(tensors):
    return torch.cat([t.detach().reshape(-1).double() for t in tensors])


def _init(rank, port):
    import datetime
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    # Gloo picks its interface from the host name unless told: on some hosts that address is not
    # reachable between local processes and a collective waits forever. Loopback, and a timeout.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    # Two workers on a 2-core machine: one intra-op thread each, or OpenMP's spinning threads
    # oversubscribe the cores and a collective can crawl for minutes.
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=60))


def _exit_worker(code):
    """Ends a worker without running torch's destructors. With a Python DDP communication hook,
    torch 1.13 can deadlock at teardown: ~Reducer → ~ProcessGroupGloo joins a gloo thread that
    waits for the GIL the destructor holds (seen in CI with gdb). Results are saved by then."""
    import sys
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def ddp_worker(rank, port, out_dir):
    _init(rank, port)
    try:
        model = tiny_model()
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
        sink = Sink()
        watch = Watcher(ddp, opt, run="ddp", agent=sink)
        gen = torch.Generator().manual_seed(100 + rank)
        local, glob, losses = [], [], []
        for _ in range(3):
            x, y = torch.randn(8, 3, generator=gen), torch.randn(8, 2, generator=gen)
            twin = copy.deepcopy(model)
            torch.nn.functional.mse_loss(twin(x), y).backward()
            local.append(flat64(p.grad for p in twin.parameters()))
            loss = torch.nn.functional.mse_loss(ddp(x), y)
            loss.backward()
            glob.append(flat64(p.grad for p in model.parameters()))
            losses.append(float(loss))
            watch.step(loss, local_batch_size=8)
            opt.step()
            opt.zero_grad()
        watch.close()
        torch.save({"rows": sink.rows, "series": watch.series, "local": local, "global": glob, "losses": losses,
                    "mode": int(watch.mode), "rank": watch.rank, "world": watch.world},
                   Path(out_dir) / f"ddp{rank}.pt")
    except BaseException:
        import traceback
        traceback.print_exc()
        _exit_worker(1)
    _exit_worker(0)


def sharded_worker(rank, port, out_dir):
    _init(rank, port)
    try:
        model = tiny_model()
        named = dict(model.named_parameters())
        owned = {0: ["0.weight", "0.bias", "2.bias"], 1: ["2.weight", "2.bias"]}[rank]
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        kw = dict(level="full", projections=3, projection_every=1, ref_every=2, ref_lag=2, ema_horizon=4.0, every=1)
        sink = Sink()
        watch = Watcher(model, opt, run="sharded", agent=sink, mode="sharded",
                        params=[(n, named[n]) for n in owned], replicated_params=[named["2.bias"]], **kw)
        whole = Sink()
        reference = Watcher(model, opt, run="whole", agent=whole, rank=0, world=1, **kw) if rank == 0 else None
        gen = torch.Generator().manual_seed(7)
        for _ in range(6):
            x, y = torch.randn(8, 3, generator=gen), torch.randn(8, 2, generator=gen)
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            for p in model.parameters():
                dist.all_reduce(p.grad)
                p.grad.div_(WORLD)
            watch.step(loss, batch_size=8)
            if reference is not None:
                reference.step(loss, batch_size=8)
            opt.step()
            opt.zero_grad()
        watch.close()
        if reference is not None:
            reference.close()
        torch.save({"rows": sink.rows, "series": watch.series, "whole": whole.rows},
                   Path(out_dir) / f"sharded{rank}.pt")
    except BaseException:
        import traceback
        traceback.print_exc()
        _exit_worker(1)
    _exit_worker(0)


SPAWN_DEADLINE = 90.0


def spawn(fn, attempts=2):
    """Runs ``fn`` on WORLD gloo processes; a hung rendezvous is retried once on a fresh port, then
    fails the test instead of hanging CI."""
    import logging
    import time
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the spawned workers
    for attempt in range(1, attempts + 1):
        out = tempfile.mkdtemp(prefix="ergowatch-dist-")
        context = mp.start_processes(fn, args=(support.free_port(), out), nprocs=WORLD, join=False,
                                     start_method="spawn")
        deadline = time.monotonic() + SPAWN_DEADLINE
        finished = False
        while not finished:
            finished = context.join(timeout=1)
            if not finished and time.monotonic() > deadline:
                for proc in context.processes:
                    proc.kill()
                break
        if finished:
            return [torch.load(Path(out) / f"{fn.__name__.split('_')[0]}{r}.pt") for r in range(WORLD)]
        logging.getLogger(__name__).warning("%s: workers did not finish in %.0f s (attempt %d of %d)",
                                            fn.__name__, SPAWN_DEADLINE, attempt, attempts)
    raise AssertionError(f"{fn.__name__}: the {WORLD} workers did not finish in {SPAWN_DEADLINE:.0f} s, "
                         f"{attempts} attempts")


class ReplicatedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ranks = spawn(ddp_worker)

    def test_ranks_know_who_they_are(self):
        for r, out in enumerate(self.ranks):
            self.assertEqual((out["rank"], out["world"], out["mode"]), (r, 2, 0))

    def test_rank_zero_sends_the_geometry_and_every_rank_its_loss_and_local_gradient(self):
        self.assertIn("grad_sq", self.ranks[0]["series"])
        self.assertIn("update_sq", self.ranks[0]["series"])
        self.assertEqual(self.ranks[1]["series"], ("loss", "grad_local_sq"))
        for r, out in enumerate(self.ranks):
            for t in range(3):
                row = out["rows"][t]
                g = out["local"][t]
                with self.subTest(rank=r, step=t):
                    self.assertAlmostEqual(row["grad_local_sq"] / float(g @ g), 1.0, places=5)
                    self.assertAlmostEqual(row["loss"], out["losses"][t], places=6)

    def test_the_global_gradient_is_the_mean_of_the_local_ones(self):
        rank0 = self.ranks[0]
        for t in range(3):
            mean = (self.ranks[0]["local"][t] + self.ranks[1]["local"][t]) / 2
            self.assertTrue(torch.allclose(rank0["global"][t], mean, atol=1e-6))
            self.assertAlmostEqual(rank0["rows"][t]["grad_sq"] / float(mean @ mean), 1.0, places=5)
            self.assertEqual(rank0["rows"][t]["local_batch_size"], 8.0)
            self.assertEqual(rank0["rows"][t]["batch_size"], 16.0)


class ShardedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ranks = spawn(sharded_worker)

    def test_partial_sums_add_up_to_the_whole_with_replicated_parameters_counted_once(self):
        whole = self.ranks[0]["whole"]
        for t in range(6):
            for name in ADDITIVE:
                parts = [out["rows"][t].get(name) for out in self.ranks]
                if whole[t].get(name) is None:
                    self.assertEqual(parts, [None, None], f"{name} at step {t}")
                    continue
                with self.subTest(step=t, series=name):
                    total = sum(parts)
                    scale = max(abs(whole[t][name]), 1e-6)
                    self.assertLessEqual(abs(total - whole[t][name]), 1e-5 * scale + 1e-7,
                                         f"{parts} vs {whole[t][name]}")

    def test_every_rank_sends_loss_and_its_projections_only_rank_zero_the_rest(self):
        s0, s1 = self.ranks[0]["series"], self.ranks[1]["series"]
        self.assertIn("lr", s0)
        self.assertNotIn("lr", s1)
        for s in (s0, s1):
            self.assertIn("loss", s)
            self.assertIn("proj.2", s)
        self.assertIn("proj.0", self.ranks[1]["rows"][3])


if __name__ == "__main__":
    unittest.main()
