"""The watcher on a CUDA device: the same float64 recomputations as test_series, run on the
GPU, plus what only a GPU can show: no host synchronisation inside ``watch.step()``
(``torch.cuda.set_sync_debug_mode("error")`` makes any sync raise), records arriving through
the pinned asynchronous copies while training goes on, and the real ``GradScaler`` with fp16.

Skipped where torch sees no CUDA device (CI has none); run on a GPU machine with
``python3 agents/python/tests/run_tests.py torch``.
"""

import unittest

import support

torch = support.require_torch()

import test_series  # noqa: E402
from test_series import Sink, data, dot, flat64, tiny_model  # noqa: E402

from ergowatch.watcher import Watcher  # noqa: E402

CUDA = torch.cuda.is_available()
NO_CUDA = "no CUDA device (CI has none; these run on a GPU machine)"


@unittest.skipUnless(CUDA, NO_CUDA)
class CudaStandardSeriesTest(test_series.StandardSeriesTest):
    DEVICE = "cuda"


@unittest.skipUnless(CUDA, NO_CUDA)
class CudaFullLevelTest(test_series.FullLevelTest):
    DEVICE = "cuda"


@unittest.skipUnless(CUDA, NO_CUDA)
class CudaPipelineTest(test_series.PipelineTest):
    DEVICE = "cuda"


@unittest.skipUnless(CUDA, NO_CUDA)
class CudaInPlaceNormsTest(test_series.InPlaceNormsTest):
    DEVICE = "cuda"


class SyncCounter:
    """Raises on any host synchronisation while active (torch's sync debug mode)."""

    def __enter__(self):
        torch.cuda.set_sync_debug_mode("error")
        return self

    def __exit__(self, *exc):
        torch.cuda.set_sync_debug_mode("default")


@unittest.skipUnless(CUDA, NO_CUDA)
class CudaOnlyTest(test_series.SeriesCase):
    DEVICE = "cuda"

    def test_step_never_synchronises_with_the_device_at_full_level(self):
        model = tiny_model(device="cuda")
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        probe_x, probe_y = data(seed=5, device="cuda")
        sink = Sink()
        w = Watcher(model, opt, run="cuda-nosync", agent=sink, level="full", ref_every=2, ref_lag=3,
                    projection_every=2, sharpness_every=2, extra_series=["acc"],
                    sharpness_probe=lambda: torch.nn.functional.mse_loss(model(probe_x), probe_y))
        x, y = data(device="cuda")
        for _ in range(3):  # Adam state exists from here on: the preconditioned sharpness runs too
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            opt.zero_grad()
        steps = 40  # more than copy_every (16 on CUDA): copies are started and polled inside step()
        for _ in range(steps):
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            with SyncCounter():
                w.step(loss, batch_size=16, acc=loss.detach() * 0 + 0.5)
            opt.step()
            opt.zero_grad()
        w.close()
        self.assertEqual(sorted(sink.rows), list(range(steps)))
        self.assertIn("sharpness", sink.rows[38])
        self.assertIn("proj.0", sink.rows[38])
        self.assertEqual(sink.rows[39]["acc"], 0.5)

    def test_records_arrive_while_training_through_the_asynchronous_copies(self):
        model = tiny_model(device="cuda")
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sink = Sink()
        w = Watcher(model, opt, run="cuda-async", agent=sink, copy_every=4)
        self.assertEqual(w.copy_every, 4)
        x, y = data(device="cuda")
        for t in range(12):
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            if t == 11:
                torch.cuda.synchronize()  # every copy started so far has landed
            w.step(loss)
            opt.step()
            opt.zero_grad()
        # The copies of steps 0-3 and 4-7 had landed at the last step() and were delivered
        # without a wait (8-11 may have too); a step is emitted once its update series, measured
        # at the next step, is there.
        self.assertIn(sorted(sink.rows), (list(range(7)), list(range(11))))
        w.close()
        self.assertEqual(sorted(sink.rows), list(range(12)))

    def test_a_model_moved_after_the_watcher_was_made_is_a_clear_error(self):
        model = tiny_model()
        w = Watcher(model, torch.optim.SGD(model.parameters(), lr=0.1), run="moved", agent=Sink())
        model.cuda()  # the same Parameter objects now hold device memory; the buffers do not
        with self.assertRaisesRegex(RuntimeError, "moved from cpu to cuda:0 after the watcher was created"):
            w.step(1.0)

    def test_parameters_moved_off_the_device_before_close_lose_only_the_last_update(self):
        model = tiny_model(device="cuda")
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sink = Sink()
        w = Watcher(model, opt, run="moved-at-end", agent=sink)
        x, y = data(device="cuda")
        for _ in range(3):
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            w.step(loss)
            opt.step()
            opt.zero_grad()
        model.cpu()  # what a trainer's teardown may do before the watcher is closed
        w.close()
        self.assertEqual(sorted(sink.rows), [0, 1, 2])
        self.assertIn("update_sq", sink.rows[1])
        self.assertNotIn("update_sq", sink.rows[2])

    def test_real_grad_scaler_with_fp16_unscales_and_reports_the_skipped_step(self):
        for unscale_first in (False, True):
            with self.subTest(unscale_before_step=unscale_first):
                self._grad_scaler(unscale_first)

    def _grad_scaler(self, unscale_first):
        model = tiny_model(device="cuda")
        params = list(model.parameters())
        opt = torch.optim.SGD(params, lr=0.1)
        scaler = torch.amp.GradScaler("cuda", init_scale=1024.0, growth_interval=1000)
        sink = Sink()
        w = Watcher(model, opt, run="cuda-amp", agent=sink, scaler=scaler, ema_horizon=2.0)
        x, y = data(device="cuda")
        W, G = [], []
        for t in range(5):
            with torch.autocast("cuda", dtype=torch.float16):
                loss = torch.nn.functional.mse_loss(model(x).float(), y)
            scale = float(scaler.get_scale())
            scaler.scale(loss).backward()
            if t == 2:
                params[0].grad[0, 0] = float("inf")  # an fp16 overflow: the scaler skips this step
            if unscale_first:
                scaler.unscale_(opt)
                G.append(flat64([p.grad for p in params]))
            else:
                G.append(flat64([p.grad for p in params]) / scale)
            W.append(flat64(params))
            w.step(loss)
            scaler.step(opt)
            scaler.update()
            opt.zero_grad()
        W.append(flat64(params))
        w.close()
        rows = sink.rows
        self.assertEqual([rows[t]["amp_skipped"] for t in range(5)], [0.0, 0.0, 1.0, 0.0, 0.0])
        self.assertNotIn("grad_sq", rows[2])
        self.assertEqual(rows[2]["nonfinite"], 0.0, "an overflow the scaler skips is not a divergence")
        self.assertTrue(torch.equal(W[3], W[2]), "the scaler skipped the update")
        for t in (0, 1, 3, 4):
            self.assertSq(rows[t]["grad_sq"], dot(G[t], G[t]), f"unscaled grad_sq at {t}")
            u = W[t + 1] - W[t]
            self.assertSq(rows[t]["update_sq"], dot(u, u), f"update_sq at {t}")


if __name__ == "__main__":
    unittest.main()
