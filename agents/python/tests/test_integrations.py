"""The Lightning and Hugging Face callbacks: importable only when their framework is; their
hook logic driven through stand-in framework modules (the frameworks are not installed in
CI) that call the hooks in the order the frameworks document; and, when a framework really
is installed, a short real run."""

import importlib
import sys
import types
import unittest

import support

torch = support.require_torch()

import ergowatch  # noqa: E402


class Sink:
    def __init__(self):
        self.rows = {}
        self.closed = None

    def record_at(self, step, time_ns, values):
        self.rows[step] = dict(values)

    def close(self, status="completed", message=""):
        self.closed = status


def _installed(name):
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False


HAVE_LIGHTNING = _installed("lightning.pytorch") or _installed("pytorch_lightning")
HAVE_TRANSFORMERS = _installed("transformers")


class StandIn:
    """Installs stand-in modules in sys.modules for the duration of a test."""

    def __init__(self, **modules):
        self.modules = modules

    def __enter__(self):
        self.saved = {n: sys.modules.get(n) for n in list(self.modules) + self._ours()}
        for n in self._ours():
            sys.modules.pop(n, None)
        sys.modules.update(self.modules)
        return self

    @staticmethod
    def _ours():
        return ["ergowatch.integrations.lightning", "ergowatch.integrations.huggingface"]

    def __exit__(self, *exc):
        for n, m in self.saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


class GuardTest(unittest.TestCase):
    def test_import_ergowatch_imports_no_framework(self):
        self.assertNotIn("lightning", ergowatch.__dict__)
        for name in ("lightning", "pytorch_lightning", "transformers"):
            if not (HAVE_LIGHTNING or HAVE_TRANSFORMERS):
                self.assertNotIn(name, sys.modules)

    @unittest.skipIf(HAVE_LIGHTNING, "Lightning is installed here")
    def test_lightning_module_needs_lightning(self):
        sys.modules.pop("ergowatch.integrations.lightning", None)
        with self.assertRaises(ImportError) as cm:
            importlib.import_module("ergowatch.integrations.lightning")
        self.assertIn("pip install lightning", str(cm.exception))

    @unittest.skipIf(HAVE_TRANSFORMERS, "transformers is installed here")
    def test_huggingface_module_needs_transformers(self):
        sys.modules.pop("ergowatch.integrations.huggingface", None)
        with self.assertRaises(ImportError) as cm:
            importlib.import_module("ergowatch.integrations.huggingface")
        self.assertIn("pip install transformers", str(cm.exception))


def _model_and_data():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    return model, torch.randn(8, 3), torch.randn(8, 1)


class LightningHooksTest(unittest.TestCase):
    def test_hooks_in_lightning_order_stream_one_record_per_optimizer_step(self):
        pl = types.ModuleType("lightning.pytorch")
        pl.Callback = type("Callback", (), {})
        lightning = types.ModuleType("lightning")
        lightning.pytorch = pl
        with StandIn(lightning=lightning, **{"lightning.pytorch": pl}):
            from ergowatch.integrations.lightning import ErgowatchCallback
            model, x, y = _model_and_data()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            sink = Sink()
            cb = ErgowatchCallback(run="pl-1", agent=sink)
            trainer = types.SimpleNamespace(global_rank=0, world_size=1, global_step=0, optimizers=[opt])
            cb.on_train_start(trainer, model)
            for step in range(3):
                trainer.global_step = step
                loss = torch.nn.functional.mse_loss(model(x), y)
                cb.on_before_backward(trainer, model, loss)
                loss.backward()
                cb.on_before_optimizer_step(trainer, model, opt)
                opt.step()
                opt.zero_grad()
            cb.on_train_end(trainer, model)
            cb.on_fit_end(trainer, model)
        self.assertEqual(sorted(sink.rows), [0, 1, 2])
        # Budgeted blocks (the default): the first block's record carries its update, and the
        # blocks cover the three steps.
        self.assertIn("update_sq", sink.rows[0])
        self.assertEqual(sum(r.get("update_steps", 0) for r in sink.rows.values()), 3.0)
        self.assertAlmostEqual(sink.rows[0]["lr"], 0.1)

    @unittest.skipUnless(HAVE_LIGHTNING, "Lightning is not installed")
    def test_a_real_lightning_fit(self):  # pragma: no cover - runs where Lightning is installed
        try:
            import lightning.pytorch as pl
        except ImportError:
            import pytorch_lightning as pl
        from ergowatch.integrations.lightning import ErgowatchCallback
        model, x, y = _model_and_data()

        class Module(pl.LightningModule):
            def __init__(self):
                super().__init__()
                self.net = model

            def training_step(self, batch, _):
                return torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=0.1)

        sink = Sink()
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
        trainer = pl.Trainer(max_steps=4, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             callbacks=[ErgowatchCallback(run="pl-real", agent=sink)])
        trainer.fit(Module(), loader)
        self.assertEqual(len(sink.rows), 4)


class HuggingFaceHooksTest(unittest.TestCase):
    def test_loss_from_the_forward_output_and_one_record_per_optimizer_step(self):
        tf = types.ModuleType("transformers")

        class TrainerCallback:
            def on_pre_optimizer_step(self, args, state, control, **kwargs):
                pass

        tf.TrainerCallback = TrainerCallback
        with StandIn(transformers=tf):
            from ergowatch.integrations.huggingface import ErgowatchCallback
            torch.manual_seed(0)

            class Model(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.lin = torch.nn.Linear(3, 1)

                def forward(self, x, y):
                    return {"loss": torch.nn.functional.mse_loss(self.lin(x), y)}

            model = Model()
            _, x, y = _model_and_data()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            sink = Sink()
            cb = ErgowatchCallback(run="hf-1", agent=sink)
            args = types.SimpleNamespace(process_index=0, world_size=1)
            state = types.SimpleNamespace(global_step=0)
            cb.on_train_begin(args, state, None, model=model, optimizer=opt)
            losses = []
            for step in range(2):
                state.global_step = step
                micro = []
                for k in range(2):  # gradient accumulation: two micro-batches per optimizer step
                    out = model(x[4 * k:4 * k + 4], y[4 * k:4 * k + 4])
                    (out["loss"] / 2).backward()
                    micro.append(float(out["loss"]))
                losses.append(sum(micro) / 2)
                cb.on_pre_optimizer_step(args, state, None)
                opt.step()
                opt.zero_grad()
            cb.on_train_end(args, state, None)
        self.assertEqual(sorted(sink.rows), [0, 1])
        self.assertAlmostEqual(sink.rows[1]["loss"], losses[1], places=6)
        self.assertIn("update_sq", sink.rows[1])
        self.assertEqual(model._forward_hooks, {}, "the forward hook is removed at the end")


if __name__ == "__main__":
    unittest.main()
