"""Every series of ergowatch.watch checked numerically against an independent float64
recomputation from parameters and gradients captured by the test (docs/math.md §2), on a
tiny model; plus the AMP, clipping, cadence, transfer and no-host-sync rules.

Tolerance: the watcher accumulates in fp32 (d < 100 here), the reference in float64; a sum
of squares is compared to 1e-5 relative, an inner product <a, b> to 1e-5 * |a| |b| (it may
cancel to nearly 0, so a relative test would be meaningless)."""

import logging
import math
import unittest

import support

torch = support.require_torch()

import ergowatch  # noqa: E402
from ergowatch import geometry, watcher  # noqa: E402
from ergowatch.watcher import Watcher, _HostCopies  # noqa: E402

RTOL = 1e-5
logging.getLogger("ergowatch").setLevel(logging.ERROR)  # some tests misuse the API on purpose


class Sink:
    """Stands in for the Agent: keeps what the watcher records."""

    def __init__(self):
        self.rows = {}
        self.order = []
        self.closed = None

    def record_at(self, step, time_ns, values):
        assert step not in self.rows, f"step {step} recorded twice"
        self.rows[step] = dict(values)
        self.order.append(step)

    def close(self, status="completed", message=""):
        self.closed = (status, message)


def tiny_model(seed=0, device="cpu"):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).to(device)


def flat64(tensors):
    """The tensors as one float64 CPU vector (the test's reference copy)."""
    return torch.cat([t.detach().reshape(-1).double().cpu() for t in tensors])


def data(seed=1, n=16, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g).to(device), torch.randn(n, 2, generator=g).to(device)


class Run:
    """Trains the tiny model, capturing w_t and g_t (float64) exactly where the watcher sees them."""

    def __init__(self, steps=6, optimizer="sgd", clip=None, inject=None, scale=None, skip_steps=(), device="cpu",
                 **kw):
        self.model = tiny_model(device=device)
        params = list(self.model.parameters())
        if optimizer == "sgd":
            self.opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)
        else:
            self.opt = torch.optim.Adam(params, lr=0.01)
        self.sink = Sink()
        kw.setdefault("every", 1)
        self.watch = Watcher(self.model, self.opt, run="series-test", agent=self.sink, **kw)
        x, y = data(device=device)
        self.W, self.G, self.losses = [], [], []
        for t in range(steps):
            loss = torch.nn.functional.mse_loss(self.model(x), y)
            (loss * (scale or 1.0)).backward()
            if inject and t in inject:
                inject[t](params)
            self.W.append(flat64(params))
            self.G.append(flat64([p.grad for p in params]) / (scale or 1.0))
            self.losses.append(float(loss))
            self.watch.step(loss, batch_size=16)
            if clip:
                torch.nn.utils.clip_grad_norm_(params, clip)
            if t in skip_steps:
                self.opt.zero_grad()  # what a GradScaler does with a non-finite gradient
                continue
            if scale:
                for p in params:
                    p.grad.div_(scale)
            self.opt.step()
            self.opt.zero_grad()
        self.W.append(flat64(params))
        self.watch.close()
        self.rows = self.sink.rows


def dot(a, b):
    return float(torch.dot(a, b))


class SeriesCase(unittest.TestCase):
    DEVICE = "cpu"  # test_cuda.py runs the same checks with "cuda"

    def run_steps(self, **kw) -> Run:
        return Run(device=self.DEVICE, **kw)

    def assertSq(self, got, expected, what):
        self.assertLessEqual(abs(got - expected), RTOL * max(abs(expected), 1e-30) + 1e-30,
                             f"{what}: got {got!r}, expected {expected!r}")

    def assertDot(self, got, a, b, what):
        expected = dot(a, b)
        bound = RTOL * float(a.norm() * b.norm()) + 1e-30
        self.assertLessEqual(abs(got - expected), bound, f"{what}: got {got!r}, expected {expected!r}")


class StandardSeriesTest(SeriesCase):
    def test_every_standard_series_matches_a_float64_recomputation(self):
        horizon = 4.0
        r = self.run_steps(steps=8, ema_horizon=horizon)
        a = 1.0 / horizon
        W, G = r.W, r.G
        U = [W[t + 1] - W[t] for t in range(8)]
        c = W[0].clone()
        self.assertEqual(sorted(r.rows), list(range(8)))
        for t in range(8):
            row = r.rows[t]
            e = W[t] - c
            with self.subTest(step=t):
                self.assertEqual(row["loss"], r.losses[t])
                self.assertEqual(row["lr"], 0.1)
                self.assertEqual(row["batch_size"], 16.0)
                self.assertEqual(row["nonfinite"], 0.0)
                self.assertSq(row["grad_sq"], dot(G[t], G[t]), "grad_sq")
                self.assertSq(row["weight_sq"], dot(W[t], W[t]), "weight_sq")
                self.assertSq(row["update_sq"], dot(U[t], U[t]), "update_sq")
                self.assertNotIn("grad_dot_update", row, "full level only")
                self.assertEqual(row["update_steps"], 1.0)
                self.assertDot(row["ema_grad_dot"], G[t], e, "ema_grad_dot")
                self.assertSq(row["ema_dist_sq"], dot(e, e), "ema_dist_sq")
                self.assertDot(row["ema_update_dot"], U[t], e, "ema_update_dot")
                if t == 0:
                    self.assertNotIn("update_dot_prev", row)
                else:
                    self.assertDot(row["update_dot_prev"], U[t], U[t - 1], "update_dot_prev")
            c = c + a * e

    def test_one_step_identity_toward_the_ema_centre(self):
        # math.md §2: |w_{t+1} - c|^2 = |w_t - c|^2 + 2<u, w_t - c> + |u|^2 for the same c.
        r = self.run_steps(steps=6, ema_horizon=3.0)
        a = 1.0 / 3.0
        c = r.W[0].clone()
        for t in range(6):
            row = r.rows[t]
            after = r.W[t + 1] - c
            lhs = dot(after, after)
            rhs = row["ema_dist_sq"] + 2 * row["ema_update_dot"] + row["update_sq"]
            self.assertLessEqual(abs(lhs - rhs), 1e-5 * max(lhs, 1e-12), f"step {t}")
            c = c + a * (r.W[t] - c)

    def test_adam_updates_are_what_the_optimizer_applied(self):
        r = self.run_steps(steps=5, optimizer="adam", level="full", projection_every=100)
        for t in range(5):
            u = r.W[t + 1] - r.W[t]
            self.assertSq(r.rows[t]["update_sq"], dot(u, u), f"update_sq {t}")
            self.assertDot(r.rows[t]["grad_dot_update"], r.G[t], u, f"grad_dot_update {t}")
            self.assertEqual(r.rows[t]["lr"], 0.01)

    def test_the_gradient_is_taken_before_clipping(self):
        r = self.run_steps(steps=4, clip=0.01)
        for t in range(4):
            self.assertSq(r.rows[t]["grad_sq"], dot(r.G[t], r.G[t]), "grad_sq before clipping")
            self.assertGreater(r.rows[t]["grad_sq"], 0.01 ** 2 * 1.5)
            u = r.W[t + 1] - r.W[t]
            self.assertSq(r.rows[t]["update_sq"], dot(u, u), "update_sq of the clipped step")

    def test_geometry_over_blocks_of_k_steps(self):
        """docs/protocol.md, "Blocks": the record of a block's first step t carries the whole
        block's update u = w_{t+k} - w_t; the centre moves once per block; the identity of
        math.md §2 holds on the chain of block starts; the last block ends at close()."""
        k, horizon, steps = 3, 6.0, 11
        r = self.run_steps(steps=steps, every=k, ema_horizon=horizon)
        a = 1.0 / horizon  # per step: a block of n steps moves the centre by 1 - (1 - a)^n
        c = r.W[0].clone()
        self.assertEqual(r.sink.order, list(range(steps)), "records go out in step order")
        for t in range(steps):
            row = r.rows[t]
            self.assertSq(row["grad_sq"], dot(r.G[t], r.G[t]), "grad_sq every step")
            self.assertIn("nonfinite", row)
            if t % k:
                for name in geometry.STANDARD_SERIES:
                    self.assertNotIn(name, row, f"{name} at step {t}")
                continue
            end = min(t + k, steps)
            e = r.W[t] - c
            u = r.W[end] - r.W[t]
            with self.subTest(step=t):
                self.assertEqual(row["update_steps"], float(end - t))
                self.assertSq(row["weight_sq"], dot(r.W[t], r.W[t]), "weight_sq")
                self.assertSq(row["update_sq"], dot(u, u), "update_sq")
                if t == 0:
                    self.assertNotIn("update_dot_prev", row)
                else:
                    self.assertDot(row["update_dot_prev"], u, r.W[t] - r.W[t - k], "update_dot_prev")
                self.assertDot(row["ema_update_dot"], u, e, "ema_update_dot")
                self.assertSq(row["ema_dist_sq"], dot(e, e), "ema_dist_sq")
                self.assertDot(row["ema_grad_dot"], r.G[t], e, "ema_grad_dot")
                after = r.W[end] - c
                lhs = dot(after, after)
                rhs = row["ema_dist_sq"] + 2 * row["ema_update_dot"] + row["update_sq"]
                self.assertLessEqual(abs(lhs - rhs), 1e-5 * max(lhs, 1e-12), "block identity")
            c = c + (1 - (1 - a) ** (end - t)) * e

    def test_basic_level_sends_only_the_basic_series(self):
        r = self.run_steps(steps=3, level="basic")
        basic = {"loss", "lr", "batch_size", "grad_sq"}
        # On a device, basic takes |g|^2 from per-tensor norms and counts no non-finite values.
        self.assertEqual(set(r.rows[1]), basic if self.DEVICE != "cpu" else basic | {"nonfinite"})
        self.assertSq(r.rows[2]["grad_sq"], dot(r.G[2], r.G[2]), "grad_sq")

    def test_nonfinite_counts_nan_and_inf_in_the_gradient_on_the_device_path_too(self):
        self.addCleanup(setattr, watcher, "READ_CPU_AT_ONCE", watcher.READ_CPU_AT_ONCE)
        watcher.READ_CPU_AT_ONCE = False
        self.test_nonfinite_counts_nan_and_inf_in_the_gradient()

    def test_nonfinite_counts_nan_and_inf_in_the_gradient(self):
        def poison(params):
            params[0].grad[0, 0] = float("nan")
            params[2].grad[1, 1] = float("inf")
            params[3].grad[0] = -float("inf")

        r = self.run_steps(steps=3, inject={1: poison}, skip_steps=(1,))
        self.assertEqual(r.rows[0]["nonfinite"], 0.0)
        self.assertEqual(r.rows[1]["nonfinite"], 3.0)
        self.assertTrue(math.isnan(r.rows[1]["grad_sq"]))

    def test_a_step_without_optimizer_step_before_close_sends_no_update(self):
        model = tiny_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sink = Sink()
        w = Watcher(model, opt, run="r", agent=sink)
        x, y = data()
        torch.nn.functional.mse_loss(model(x), y).backward()
        w.step(torch.tensor(1.0))
        w.close()
        self.assertNotIn("update_sq", sink.rows[0])
        self.assertIn("weight_sq", sink.rows[0])


class AmpTest(SeriesCase):
    """A GradScaler stand-in with the attributes torch's GradScaler has (1.13 and 2.x): the
    real one is disabled without CUDA. Gradients are scaled by S; step 2 overflows."""

    class Scaler:
        def __init__(self, opt, scale):
            from types import SimpleNamespace
            self._scale = torch.tensor(float(scale))
            self._per_optimizer_states = {id(opt): {"stage": SimpleNamespace(name="READY")}}

        def is_enabled(self):
            return True

    def train(self):
        model = tiny_model()
        params = list(model.parameters())
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
        scale = 1024.0
        scaler = self.Scaler(opt, scale)
        sink = Sink()
        w = Watcher(model, opt, run="amp", agent=sink, scaler=scaler, ema_horizon=2.0, every=1, level="full",
                    projection_every=100)
        x, y = data()
        W, G = [], []
        for t in range(6):
            loss = torch.nn.functional.mse_loss(model(x), y)
            (loss * scale).backward()
            if t == 2:
                params[1].grad[0] = float("inf")
            W.append(flat64(params))
            G.append(flat64([p.grad for p in params]) / scale)
            w.step(loss)
            if t != 2:
                for p in params:
                    p.grad.div_(scale)
                opt.step()
            opt.zero_grad()
        W.append(flat64(params))
        w.close()
        return sink.rows, W, G

    def test_gradients_are_unscaled_and_the_skipped_step_is_reported_not_counted(self):
        rows, W, G = self.train()
        self.assertEqual([rows[t]["amp_skipped"] for t in range(6)], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
        skipped = rows[2]
        for name in ("grad_sq", "ema_grad_dot", "grad_dot_update"):
            self.assertNotIn(name, skipped)
        self.assertEqual(skipped["nonfinite"], 0.0, "the overflow a GradScaler skips is not a divergence")
        self.assertEqual(skipped["update_sq"], 0.0, "the skipped step did not move the weights")
        a = 0.5
        c = W[0].clone()
        for t in (0, 1, 3, 4, 5):
            row = rows[t]
            self.assertSq(row["grad_sq"], dot(G[t], G[t]), f"unscaled grad_sq {t}")
            u = W[t + 1] - W[t]
            self.assertDot(row["grad_dot_update"], G[t], u, f"grad_dot_update {t}")
        for t in range(6):
            e = W[t] - c
            self.assertSq(rows[t]["ema_dist_sq"], dot(e, e), f"ema_dist_sq {t}")
            c = c + a * e  # a block of one step, skipped or not


class FullLevelTest(SeriesCase):
    def test_projections_are_inner_products_with_the_seeded_directions(self):
        r = self.run_steps(steps=4, level="full", projections=5, projection_every=2, seed=7)
        proj = r.watch.projections
        theta = torch.cat([self._directions(proj, i) for i in range(len(proj.layout.params))], dim=1).double()
        for t in (0, 2):
            expected = theta @ r.W[t]
            for j in range(5):
                self.assertDot(r.rows[t][f"proj.{j}"], theta[j], r.W[t], f"proj.{j} at {t}")
                self.assertAlmostEqual(r.rows[t][f"proj.{j}"], float(expected[j]), places=4)
        self.assertNotIn("proj.0", r.rows[1])

    def test_projection_blocks_cover_each_parameter(self):
        # Small blocks: the directions of a parameter come from several seeded blocks.
        model = tiny_model()
        layout = geometry.FlatLayout(list(model.parameters()), [n for n, _ in model.named_parameters()])
        proj = geometry.Projections(layout, count=4, seed=3)
        proj.block = 2
        w = torch.randn(layout.numel)
        theta = torch.cat([self._directions(proj, i) for i in range(len(layout.params))], dim=1)
        self.assertTrue(torch.allclose(proj.compute(w), theta @ w, rtol=1e-5, atol=1e-5))

    @staticmethod
    def _directions(proj, i):
        """The test's own reconstruction of the documented recipe, as a dense matrix."""
        n = proj.layout.numels[i]
        blocks = []
        for b, start in enumerate(range(0, n, proj.block)):
            k = min(proj.block, n - start)
            device = proj.layout.device  # directions are the same on one device type
            g = torch.Generator(device=device).manual_seed((proj.seeds[i] + b) & 0x7FFF_FFFF_FFFF_FFFF)
            blocks.append(torch.randn(proj.count, k, generator=g, device=device).cpu())
        return torch.cat(blocks, dim=1)

    def test_lagged_reference_probes(self):
        r = self.run_steps(steps=9, level="full", ref_every=3, ref_lag=4, projection_every=100)
        seen = {}
        for t in range(9):
            row = r.rows[t]
            if "ref_probe_step" in row:
                p = int(row["ref_probe_step"])
                seen[t] = p
                d = r.W[p] - r.W[t]
                self.assertDot(row["ref_grad_dot"], r.G[p], d, "ref_grad_dot")
                self.assertSq(row["ref_dist_sq"], dot(d, d), "ref_dist_sq")
                self.assertSq(row["ref_grad_sq"], dot(r.G[p], r.G[p]), "ref_grad_sq")
        self.assertEqual(seen, {4: 0, 7: 3})

    def test_sharpness_is_the_top_hessian_eigenvalue(self):
        # Linear least squares: the Hessian of mean((Xw + b - y)^2) is 2 [X 1]^T [X 1] / n.
        torch.manual_seed(0)
        x, y = torch.randn(32, 3), torch.randn(32, 1)
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        probe = lambda: torch.nn.functional.mse_loss(model(x), y)  # noqa: E731
        sink = Sink()
        w = Watcher(model, opt, run="sharp", agent=sink, level="full", sharpness_every=2, sharpness_probe=probe,
                    sharpness_iters=60, projection_every=100)
        for _ in range(3):
            probe().backward()
            w.step(torch.tensor(0.0))
            opt.step()
            opt.zero_grad()
        w.close()
        xa = torch.cat([x, torch.ones(32, 1)], dim=1).double()
        top = float(torch.linalg.eigvalsh(2 * xa.T @ xa / 32)[-1])
        self.assertAlmostEqual(sink.rows[0]["sharpness"] / top, 1.0, places=4)
        self.assertAlmostEqual(sink.rows[2]["sharpness"] / top, 1.0, places=4)
        self.assertNotIn("sharpness", sink.rows[1])

    def test_adam_sharpness_is_preconditioned(self):
        torch.manual_seed(0)
        x, y = torch.randn(32, 3), torch.randn(32, 1)
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        probe = lambda: torch.nn.functional.mse_loss(model(x), y)  # noqa: E731
        for _ in range(3):
            probe().backward()
            opt.step()
            opt.zero_grad()
        lam, _ = geometry.hvp_sharpness(list(model.parameters()), probe, opt, iters=100)
        xa = torch.cat([x, torch.ones(32, 1)], dim=1).double()
        h = 2 * xa.T @ xa / 32
        v = torch.cat([opt.state[p]["exp_avg_sq"].reshape(-1) for p in model.parameters()]).double()
        step = float(opt.state[model.weight]["step"])
        p_inv_half = ((v / (1 - 0.999 ** step)).sqrt() + 1e-8).rsqrt()
        top = float(torch.linalg.eigvalsh(p_inv_half[:, None] * h * p_inv_half[None, :])[-1])
        self.assertAlmostEqual(float(lam) / top, 1.0, places=3)


class InPlaceNormsTest(SeriesCase):
    """The device path away from geometry steps: grad_sq from per-tensor norms, no flat copies
    (on CPU the test switches CPU_HOST_READS off to run it)."""

    def setUp(self):
        self.addCleanup(setattr, watcher, "READ_CPU_AT_ONCE", watcher.READ_CPU_AT_ONCE)
        watcher.READ_CPU_AT_ONCE = False

    def test_basic_level_takes_grad_sq_in_place_and_a_nonfinite_gradient_shows_in_it(self):
        def poison(params):
            params[2].grad[0, 1] = float("nan")

        r = self.run_steps(steps=4, level="basic", inject={2: poison}, skip_steps=(2,))
        for t in (0, 1, 3):
            self.assertSq(r.rows[t]["grad_sq"], dot(r.G[t], r.G[t]), f"grad_sq {t}")
            self.assertNotIn("nonfinite", r.rows[t])
        self.assertTrue(math.isnan(r.rows[2]["grad_sq"]))

    def test_blocks_of_ten_steps_give_the_series_of_the_host_path(self):
        kw = dict(steps=25, every=10, ema_horizon=20.0)
        fast = self.run_steps(**kw)
        watcher.READ_CPU_AT_ONCE = True
        host = Run(device=self.DEVICE, **kw) if self.DEVICE == "cpu" else None
        for t in range(25):
            row = fast.rows[t]
            self.assertSq(row["grad_sq"], dot(fast.G[t], fast.G[t]), f"grad_sq {t}")
            start = t % 10 == 0  # a block start counts the non-finite values of its flat copies
            self.assertEqual("nonfinite" in row, start, f"nonfinite at step {t}")
            if host is not None:
                self.assertEqual(set(row), set(host.rows[t]) - ({"nonfinite"} if not start else set()), f"step {t}")
                for name, v in row.items():
                    self.assertAlmostEqual(v, host.rows[t][name], delta=1e-6 * max(1.0, abs(v)), msg=f"{name} {t}")
        for t in (10, 20):
            u = fast.W[min(t + 10, 25)] - fast.W[t]
            self.assertDot(fast.rows[t]["update_dot_prev"], u, fast.W[t] - fast.W[t - 10], f"update_dot_prev {t}")

    def test_a_skipped_amp_step_between_geometry_steps_is_reported(self):
        model = tiny_model(device=self.DEVICE)
        params = list(model.parameters())
        opt = torch.optim.SGD(params, lr=0.1)
        sink = Sink()
        w = Watcher(model, opt, run="amp-in-place", agent=sink, scaler=AmpTest.Scaler(opt, 256.0), every=10,
                    copy_every=1)
        x, y = data(device=self.DEVICE)
        for t in range(8):
            loss = torch.nn.functional.mse_loss(model(x), y)
            (loss * 256.0).backward()
            if t == 5:
                params[0].grad[0, 0] = float("inf")
            w.step(loss)
            if t != 5:
                for p in params:
                    p.grad.div_(256.0)
                opt.step()
            opt.zero_grad()
        w.close()
        self.assertEqual([sink.rows[t]["amp_skipped"] for t in range(8)], [0.0] * 5 + [1.0] + [0.0] * 2)
        self.assertNotIn("grad_sq", sink.rows[5])
        self.assertIn("grad_sq", sink.rows[4])

    def test_full_level_uses_the_flat_copies_only_where_it_needs_them(self):
        r = self.run_steps(steps=12, level="full", every=10, projections=3, projection_every=4, ref_every=5,
                           ref_lag=3)
        proj = r.watch.projections
        theta = torch.cat([FullLevelTest._directions(proj, i) for i in range(len(proj.layout.params))], dim=1)
        for t in (0, 4, 8):
            for j in range(3):
                self.assertDot(r.rows[t][f"proj.{j}"], theta[j].double(), r.W[t], f"proj.{j} at {t}")
        seen = {t: int(r.rows[t]["ref_probe_step"]) for t in range(12) if "ref_probe_step" in r.rows[t]}
        self.assertEqual(seen, {3: 0, 8: 5})
        for t, p in seen.items():
            d = r.W[p] - r.W[t]
            self.assertDot(r.rows[t]["ref_grad_dot"], r.G[p], d, f"ref_grad_dot {t}")


class PipelineTest(SeriesCase):
    def test_batched_and_delayed_copies_give_the_same_records(self):
        full = dict(steps=7, level="full", projection_every=3, ref_every=2, ref_lag=2)
        base = self.run_steps(**full).rows
        batched = self.run_steps(copy_every=3, **full).rows
        self.assertEqual(batched, base)
        original = _HostCopies.ready
        polls = {"n": 0}

        def slow_ready(self, wait=False):
            polls["n"] += 1
            if not wait and polls["n"] % 3:
                return []  # the device has not finished these copies yet
            return original(self, wait)

        _HostCopies.ready = slow_ready
        try:
            delayed = self.run_steps(copy_every=2, **full).rows
        finally:
            _HostCopies.ready = original
        self.assertEqual(delayed, base)

    def test_step_reads_nothing_back_from_the_device(self):
        """On CPU there is no device to wait for, so this checks the rule itself: between
        copies, step() never turns a tensor into a Python value (item, float, int, bool,
        tolist), which on a GPU would be a host sync. (The CPU-only shortcut that reads a
        scalar to skip the non-finite count is switched off: the device path runs.)"""
        self.addCleanup(setattr, watcher, "READ_CPU_AT_ONCE", watcher.READ_CPU_AT_ONCE)
        watcher.READ_CPU_AT_ONCE = False
        model = tiny_model()
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        sink = Sink()
        probe_x, probe_y = data(seed=5)
        w = Watcher(model, opt, run="nosync", agent=sink, level="full", copy_every=1000, ref_every=2, ref_lag=3,
                    projection_every=2, sharpness_every=2, extra_series=["acc"],
                    sharpness_probe=lambda: torch.nn.functional.mse_loss(model(probe_x), probe_y))
        x, y = data()
        losses = []
        for _ in range(3):  # Adam state exists from here on: the preconditioned path runs too
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
        for _ in range(6):
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            losses.append(loss)
            with ForbidHostReads():
                w.step(loss, acc=loss.detach() * 0 + 0.5)
            opt.step()
            opt.zero_grad()
        self.assertEqual(sink.rows, {})
        w.close()
        self.assertEqual(sorted(sink.rows), list(range(6)))
        self.assertEqual(sink.rows[5]["acc"], 0.5)
        self.assertIn("sharpness", sink.rows[4])

    def test_replicated_rank_other_than_zero_sends_only_its_own_series(self):
        model = tiny_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sink = Sink()
        w = Watcher(model, opt, run="r1", agent=sink, rank=1, world=2)
        self.assertEqual(w.series, ("loss",))
        x, y = data()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        w.step(loss, local_batch_size=8)
        w.close()
        self.assertEqual(set(sink.rows[0]), {"loss"})

    def test_series_declared_in_hello_order(self):
        w = Watcher(tiny_model(), torch.optim.SGD(tiny_model().parameters(), lr=1), run="x", agent=Sink(),
                    level="full", projections=2)
        self.assertEqual(w.series[:4], ("loss", "lr", "batch_size", "local_batch_size"))
        self.assertIn("proj.1", w.series)
        self.assertIn("ref_probe_step", w.series)
        with self.assertRaises(ValueError):
            Watcher(tiny_model(), torch.optim.SGD(tiny_model().parameters(), lr=1), run="x", agent=Sink(),
                    extra_series=["loss"])

    def test_tensor_learning_rate_and_after_close(self):
        model = tiny_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        opt.param_groups[0]["lr"] = torch.tensor(0.25)
        sink = Sink()
        w = Watcher(model, opt, run="lr", agent=sink)
        x, y = data()
        torch.nn.functional.mse_loss(model(x), y).backward()
        w.step(1.5)
        opt.param_groups[0]["lr"].fill_(0.5)  # a scheduler changing it in place later
        w.close()
        w.close()
        w.step(2.0)
        self.assertEqual((sink.rows[0]["lr"], sink.rows[0]["loss"]), (0.25, 1.5))
        self.assertEqual(sink.order, [0])


class ForbidHostReads:
    """Makes every tensor-to-Python conversion raise while active."""

    NAMES = ("item", "tolist", "__float__", "__int__", "__bool__", "__index__")

    def __enter__(self):
        self.saved = {n: getattr(torch.Tensor, n) for n in self.NAMES}

        def forbid(name):
            def f(*a, **k):
                raise AssertionError(f"host read Tensor.{name} inside watch.step()")
            return f

        for n in self.NAMES:
            setattr(torch.Tensor, n, forbid(n))
        return self

    def __exit__(self, *exc):
        for n, f in self.saved.items():
            setattr(torch.Tensor, n, f)


class WatchFunctionTest(unittest.TestCase):
    def test_watch_returns_a_watcher_streaming_through_an_agent(self):
        with support.FakeMonitor() as m:
            model = tiny_model()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            x, y = data()
            with ergowatch.watch(model, opt, run="watch-1", address=m.address, job="unit",
                                 labels={"note": "test"}) as w:
                for _ in range(5):
                    loss = torch.nn.functional.mse_loss(model(x), y)
                    loss.backward()
                    w.step(loss, batch_size=16)
                    opt.step()
                    opt.zero_grad()
            values = m.values("watch-1")
            self.assertEqual([v["step"] for v in values], [0, 1, 2, 3, 4])
            # Budgeted blocks: each block's first record carries its update; they cover every step.
            self.assertIn("update_sq", values[0])
            self.assertEqual(sum(v.get("update_steps", 0) for v in values), 5.0)
            hello = m.hellos[0]
            self.assertEqual(dict(hello.labels), {"optimizer": "sgd", "framework": "pytorch", "ema_alpha": "0.001",
                                                  "params": str(sum(p.numel() for p in model.parameters())),
                                                  "note": "test"})
            self.assertEqual(hello.series[-1], "agent_dropped")
            self.assertEqual(m.byes[0].status, 0)

    def test_hello_names_the_momentum_the_centre_rate_and_adams_beta1(self):
        # The monitor's Pi (math.md §2) needs ema_alpha and the momentum; its critical sharpness
        # needs beta1 for Adam. A horizon of 25 steps gives a = 0.04 per step, whatever every is.
        model = tiny_model()
        cases = [
            (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True), {},
             {"optimizer": "sgd", "momentum": "0.9", "nesterov": "true", "ema_alpha": "0.04"}),
            (torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.99)), {},
             {"optimizer": "adam", "beta1": "0.8", "ema_alpha": "0.04"}),
            (torch.optim.SGD(model.parameters(), lr=0.1), {"ema_alpha": "0.5"},
             {"optimizer": "sgd", "ema_alpha": "0.5"}),
        ]
        for opt, given, expected in cases:
            with support.FakeMonitor() as m:
                with ergowatch.watch(model, opt, run="labels", address=m.address, every=4, ema_horizon=25,
                                     labels=given) as w:
                    x, y = data()
                    loss = torch.nn.functional.mse_loss(model(x), y)
                    loss.backward()
                    w.step(loss)
                    opt.step()
                    opt.zero_grad()
                labels = dict(m.hellos[0].labels)
                labels.pop("framework")
                labels.pop("params")
                self.assertEqual(labels, expected)

    def test_basic_level_sends_no_centre_rate(self):
        model = tiny_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        with support.FakeMonitor() as m:
            with ergowatch.watch(model, opt, run="basic", address=m.address, level="basic") as w:
                x, y = data()
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                w.step(loss)
                opt.step()
            self.assertNotIn("ema_alpha", dict(m.hellos[0].labels))


if __name__ == "__main__":
    unittest.main()


class FlatGradsTest(unittest.TestCase):
    """The gradients re-homed into one flat buffer (geometry.FlatGrads): values kept, training
    unchanged, a parameter without a gradient left alone, torch 2's set_to_none handled."""

    def train(self, steps, set_to_none, watch=True, unused=False):
        torch.manual_seed(0)
        model = tiny_model()
        extra = torch.nn.Parameter(torch.ones(3))  # never used in the forward pass when unused
        params = list(model.parameters()) + ([extra] if unused else [])
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1)
        sink = Sink()
        w = Watcher(model, opt, run="flat", agent=sink, every=1, params=params) if watch else None
        x, y = data()
        for _ in range(steps):
            torch.nn.functional.mse_loss(model(x), y).backward()
            if w is not None:
                w.step(1.0)
            opt.step()
            opt.zero_grad(set_to_none=set_to_none)
        if w is not None:
            w.close()
        return model, extra, w, sink

    def test_gradients_become_views_of_one_buffer_and_training_is_unchanged(self):
        watched, _, w, sink = self.train(5, set_to_none=False)
        plain, _, _, _ = self.train(5, set_to_none=False, watch=False)
        for a, b in zip(watched.parameters(), plain.parameters()):
            self.assertTrue(torch.equal(a, b))
        flat = w.geometry.grads.flat
        self.assertIsNotNone(flat)
        for p in watched.parameters():
            self.assertEqual(p.grad.data_ptr() - flat.data_ptr() >= 0, True)
            self.assertLess(p.grad.data_ptr() - flat.data_ptr(), flat.numel() * 4)
        self.assertEqual(w.geometry.grads.adoptions, 1)

    def test_a_parameter_without_gradient_keeps_none_so_the_optimizer_skips_it(self):
        _, extra, w, sink = self.train(4, set_to_none=False, unused=True)
        self.assertIsNone(extra.grad)
        self.assertTrue(torch.equal(extra.detach(), torch.ones(3)), "weight decay must not reach it")

    def test_set_to_none_every_step_falls_back_to_reading_the_gradients(self):
        model, _, w, sink = self.train(8, set_to_none=True)
        self.assertLessEqual(w.geometry.grads.adoptions, 2)
        _, _, _, ref = self.train(8, set_to_none=False)  # the same training, gradients kept in place
        for t in range(8):
            for name in ("grad_sq", "weight_sq", "ema_grad_dot", "update_sq"):
                self.assertAlmostEqual(sink.rows[t][name], ref.rows[t][name], delta=1e-6 * abs(ref.rows[t][name]))
