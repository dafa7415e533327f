"""Hugging Face ``transformers`` integration: a ``TrainerCallback`` that runs :func:`ergowatch.watch`.

The Trainer gives callbacks no loss and no hook between backward and clipping, so:

- the loss is taken from the model's forward output (``output.loss``, mean over the
  micro-batches of the optimizer step) by a forward hook;
- the watcher runs in ``on_pre_optimizer_step``, which the Trainer calls *after* gradient
  clipping: with ``max_grad_norm`` > 0 the gradient seen is the clipped one, not the g of
  docs/math.md. Set ``max_grad_norm=0`` for the norm before clipping. A transformers release
  without ``on_pre_optimizer_step`` has no hook where the gradients still exist: the callback
  then logs an error and sends nothing.

Example:
    >>> from ergowatch.integrations.huggingface import ErgowatchCallback   # doctest: +SKIP
    >>> trainer = transformers.Trainer(model=model, args=args, train_dataset=ds,   # doctest: +SKIP
    ...     callbacks=[ErgowatchCallback(run="bert-ft-1", address="localhost:7479")])

Raises:
    ImportError: when ``transformers`` is not installed.
"""

try:
    from transformers import TrainerCallback
except ImportError as e:
    raise ImportError("ergowatch.integrations.huggingface needs transformers: pip install transformers") from e

import logging

import torch

__all__ = ["ErgowatchCallback"]

log = logging.getLogger(__name__)


class ErgowatchCallback(TrainerCallback):
    """Streams a ``transformers.Trainer`` run to the ergowatch monitor.

    Args:
        run: the run id.
        address: the monitor, host:port.
        **watch_options: passed to :class:`ergowatch.watcher.Watcher`.
    """

    def __init__(self, run: str, address: str = "localhost:7479", **watch_options):
        self.run = run
        self.address = address
        self.options = watch_options
        self.watch = None
        self._hook = None
        self._loss_sum = None
        self._loss_n = 0

    def _capture(self, module, inputs, output):
        loss = getattr(output, "loss", None)
        if loss is None and isinstance(output, dict):
            loss = output.get("loss")
        if torch.is_tensor(loss) and module.training:
            loss = loss.detach().float()
            self._loss_sum = loss if self._loss_sum is None else self._loss_sum + loss
            self._loss_n += 1

    def on_train_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
        from ..watcher import Watcher
        if not hasattr(TrainerCallback, "on_pre_optimizer_step"):
            log.error("ergowatch: this transformers has no on_pre_optimizer_step callback event; nothing is sent")
            return
        options = dict(self.options)
        options.setdefault("rank", args.process_index)
        options.setdefault("world", args.world_size)
        options.setdefault("start_step", state.global_step)
        self.watch = Watcher(model, optimizer, run=self.run, address=self.address, **options)
        self._hook = model.register_forward_hook(self._capture)

    def _take_loss(self):
        loss = None if self._loss_sum is None else self._loss_sum / self._loss_n
        self._loss_sum, self._loss_n = None, 0
        return loss

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        if self.watch is not None:
            self.watch.step(self._take_loss(), step=state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        if self.watch is not None:
            self.watch.close()
            self.watch = None
