"""PyTorch Lightning integration: a ``Callback`` that runs :func:`ergowatch.watch`.

The watcher is created at ``on_train_start``, once the model is on its device and the
optimizers exist. Lightning calls ``on_before_optimizer_step`` after the backward pass (after its AMP
unscaling) and before gradient clipping, which is where the watcher must look; the loss comes
from ``on_before_backward``.

Example:
    >>> from ergowatch.integrations.lightning import ErgowatchCallback   # doctest: +SKIP
    >>> trainer = lightning.pytorch.Trainer(                              # doctest: +SKIP
    ...     callbacks=[ErgowatchCallback(run="resnet-1", address="localhost:7479")])

Raises:
    ImportError: when neither ``lightning`` nor ``pytorch_lightning`` is installed.
"""

try:
    import lightning.pytorch as pl
except ImportError:
    try:
        import pytorch_lightning as pl
    except ImportError as e:
        raise ImportError("ergowatch.integrations.lightning needs PyTorch Lightning: pip install lightning") from e

__all__ = ["ErgowatchCallback"]


class ErgowatchCallback(pl.Callback):
    """Streams a Lightning fit to the ergowatch monitor (automatic optimization, first optimizer).

    Args:
        run: the run id.
        address: the monitor, host:port.
        **watch_options: passed to :class:`ergowatch.watcher.Watcher` (level, every, ...).
    """

    def __init__(self, run: str, address: str = "localhost:7479", **watch_options):
        super().__init__()
        self.run = run
        self.address = address
        self.options = watch_options
        self.watch = None
        self._loss = None

    def on_train_start(self, trainer, pl_module):
        # Not on_fit_start: Lightning moves the model to its device and creates the optimizers
        # after that hook, and the watcher's buffers must live where the parameters do.
        from ..watcher import Watcher
        options = dict(self.options)
        options.setdefault("rank", trainer.global_rank)
        options.setdefault("world", trainer.world_size)
        options.setdefault("start_step", trainer.global_step)
        self.watch = Watcher(pl_module, trainer.optimizers[0], run=self.run, address=self.address, **options)

    def on_before_backward(self, trainer, pl_module, loss):
        self._loss = loss.detach()

    def on_before_optimizer_step(self, trainer, pl_module, optimizer, *args):
        raw = getattr(optimizer, "_optimizer", optimizer)  # a LightningOptimizer wraps the torch one
        if self.watch is not None and raw is self.watch.optimizer:
            self.watch.step(self._loss, step=trainer.global_step)

    def on_train_end(self, trainer, pl_module):
        # Not on_fit_end: by then Lightning's teardown may have moved the model back to the CPU,
        # and the last step's update is measured against the parameters where they trained.
        if self.watch is not None:
            self.watch.close()

    def on_fit_end(self, trainer, pl_module):
        if self.watch is not None:
            self.watch.close()  # a no-op after on_train_end; closes a fit that never trained

    def on_exception(self, trainer, pl_module, exception):
        if self.watch is not None:
            self.watch.close("failed", f"{type(exception).__name__}: {exception}")
