"""End to end: real PyTorch training loops streamed by ergowatch.watch through the real
Agent to the real monitor (java -jar monitor/target/ergowatch.jar serve), checked through the
monitor's JSON API and /metrics. One monitor serves the whole module and gets SIGTERM at the end.
"""

import logging
import math
import time
import unittest

import support

torch = support.require_torch()

import ergowatch  # noqa: E402

logging.getLogger("ergowatch").setLevel(logging.ERROR)


def mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))


def regression(n=256, noise=0.0, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=g)
    w = torch.randn(10, 1, generator=g)
    return x, torch.tanh(x @ w) + noise * torch.randn(n, 1, generator=g)


class MonitorEndToEndTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.monitor = support.MonitorProcess(support.monitor_jar())

    @classmethod
    def tearDownClass(cls):
        code = cls.monitor.stop()
        assert code is not None, "the monitor did not stop on SIGTERM"

    def wait_for(self, run, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.monitor.run(run)
            if last is not None and predicate(last):
                return last
            time.sleep(0.1)
        self.fail(f"run {run} never satisfied the condition; last /api/runs/{run}: {last}")

    def train(self, run, steps, lr, batch=None, noise=0.0, level="standard", model=None, batches=None):
        """Trains with plain SGD (no momentum) at a constant lr; returns (last loss, last |g|^2 in
        float64) as the watcher sent them.

        By default the MLP on the fixed ``regression`` set, full batch or ``batch`` examples drawn
        with replacement; or ``model`` on ``batches()``, a callable returning a fresh (x, y)."""
        if model is None:
            model = mlp()
            x, y = regression(noise=noise)
            gen = torch.Generator().manual_seed(3)

            def batches():
                if not batch:
                    return x, y
                idx = torch.randint(0, x.shape[0], (batch,), generator=gen)
                return x[idx], y[idx]
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        last_loss = last_sq = None
        # Measured every step (budget=None): these tests pin what the monitor shows for exact,
        # every-step values (the last |g|, Pi from step 1). The budgeted default is judged on
        # real training in test_real_training.
        with ergowatch.watch(model, opt, run=run, address=self.monitor.address, job="e2e", level=level,
                             budget=None) as watch:
            for _ in range(steps):
                xb, yb = batches()
                loss = torch.nn.functional.mse_loss(model(xb), yb)
                loss.backward()
                watch.step(loss, batch_size=xb.shape[0])
                last_loss = float(loss)
                last_sq = float(sum(p.grad.double().pow(2).sum() for p in model.parameters()))
                opt.step()
                opt.zero_grad()
            agent = watch.agent
        self.assertEqual(agent.dropped_count, 0)
        self.assertEqual(agent.acked_count, steps)
        return last_loss, last_sq

    def test_a_diverging_loop_is_diverged_with_a_reason(self):
        self.train("e2e-diverging", 60, lr=50.0)
        snap = self.wait_for("e2e-diverging", lambda r: r["steps"] == 60 and r["status"] == "finished")
        self.assertEqual(snap["state"], "diverged", snap)
        self.assertTrue(snap["why"], snap)
        self.assertEqual(self.monitor.metric("ergowatch_run_state", "e2e-diverging") is not None, True)

    def test_a_healthy_loop_is_progressing_with_every_step_counted(self):
        n = 400
        self.train("e2e-healthy", n, lr=0.05)
        snap = self.wait_for("e2e-healthy", lambda r: r["steps"] == n and r["status"] == "finished")
        self.assertEqual(snap["state"], "progressing", snap)
        self.assertEqual(snap["last_step"], n - 1)
        self.assertEqual(self.monitor.metric("ergowatch_steps_total", "e2e-healthy"), float(n))

    def test_a_stalling_loop_is_stalled_nonstationary_by_its_stationarity_ratio(self):
        """Plain SGD (no momentum) at a constant lr = 0.2 on a linear regression y = x.w* + e
        (d = 10, noise sd 1) with a fresh Gaussian minibatch of 8 every step: after ~50 steps
        the weights fluctuate around w* in a stationary law and the loss sits at its noise floor
        (autocorrelation time ~1-2 steps, so the window stays at W = 200), while the
        minibatch gradient stays large (docs/math.md §1, §3). With the standard level the
        watcher sends update_sq and ema_update_dot, so the monitor computes Pi, which is ~1:
        the verdict is stalled_nonstationary about 250 steps in. No micro-batch pair
        (local_batch_size, grad_local_sq) is sent, so the gradient signal is unidentified.

        Also checks what the monitor must show for any run: every step counted, status
        finished, the last loss and gradient norm on /metrics exactly as sent. The loop is
        seeded, so the record stream, and with it every window evaluation, is the same on every
        run of the test (swept over 12 seeds: the verdict came at steps 239-299 in each)."""
        run, n, d = "e2e-stalling", 1000, 10
        torch.manual_seed(0)
        model = torch.nn.Linear(d, 1)
        gen = torch.Generator().manual_seed(1)
        w_star = torch.randn(d, 1, generator=gen)

        def batches():
            xb = torch.randn(8, d, generator=gen)
            return xb, xb @ w_star + torch.randn(8, 1, generator=gen)

        loss, grad_sq = self.train(run, n, lr=0.2, model=model, batches=batches)
        snap = self.wait_for(run, lambda r: r["steps"] == n and r["status"] == "finished"
                             and r["state"] == "stalled_nonstationary", timeout=30.0)
        why = " / ".join(snap["why"])
        self.assertIn("loss stationary", why, snap)
        self.assertIn("weights stationary in law: stationarity ratio Pi = ", why, snap)
        self.assertIn("weights still move", why, snap)
        self.assertIn("signal: unidentified", why, snap)
        pi = snap["statistics"]["stationarity_ratio"]
        self.assertTrue(0.8 <= pi <= 1.2, snap["statistics"])
        entered = [e for e in snap["events"] if e["to"] == "stalled_nonstationary"]
        self.assertTrue(entered and entered[0]["step"] < n // 2, snap["events"])
        self.assertEqual(snap["last_step"], n - 1)
        self.assertEqual(self.monitor.metric("ergowatch_loss", run), loss)
        grad_norm = self.monitor.metric("ergowatch_grad_norm", run)
        self.assertLessEqual(abs(grad_norm - math.sqrt(grad_sq)), 1e-5 * math.sqrt(grad_sq))
        self.assertEqual(self.monitor.metric("ergowatch_steps_total", run), float(n))
        self.assertEqual(self.monitor.metric("ergowatch_stationarity_ratio", run), pi)
        self.assertEqual(self.monitor.metric("ergowatch_run_state", run) is not None, True)
        self.assertEqual(self.monitor.metric("ergowatch_run_status", run) is not None, True)

    def test_the_cpu_example_runs_against_the_monitor(self):
        import subprocess
        import sys
        example = support.AGENT_ROOT / "examples" / "mlp_cpu.py"
        done = subprocess.run([sys.executable, str(example), "--address", self.monitor.address, "--run",
                               "e2e-example", "--steps", "120"], capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        snap = self.wait_for("e2e-example", lambda r: r["steps"] == 120 and r["status"] == "finished")
        self.assertEqual(snap["job"], "examples")

    def test_an_unknown_run_is_a_404(self):
        status, body = self.monitor.http("/api/runs/e2e-no-such-run")
        self.assertEqual(status, 404, body)


if __name__ == "__main__":
    unittest.main()
