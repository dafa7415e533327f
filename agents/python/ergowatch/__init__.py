"""ergowatch: stream a PyTorch training run's loss and gradient geometry to the ergowatch monitor.

Two layers:

- :func:`watch` (needs torch): attach to a model and optimizer, call ``.step(loss)`` after
  ``backward()`` and before ``optimizer.step()``; it computes the well-known series of
  docs/protocol.md on the device, without a host sync per step, and streams them.
- :class:`Agent` (standard library only): the EWP/1 transport; ``record(step, **values)``
  never blocks.

Example:
    >>> import ergowatch
    >>> agent = ergowatch.Agent("localhost:1", "doc-init", series=["loss"], close_timeout=0.1)
    >>> agent.record(0, loss=0.25)
    >>> agent.close()

Importing this package does not import torch; ``ergowatch.watch`` imports it on first use.
"""

from .agent import AGENT_DROPPED, DEFAULT_PORT, Agent
from .protocol import ByeStatus, ErrorCode, Mode, ProtocolError
from .spool import SpoolInUseError

__version__ = "0.1.0"

__all__ = ["Agent", "AGENT_DROPPED", "DEFAULT_PORT", "ByeStatus", "ErrorCode", "Mode", "ProtocolError",
           "SpoolInUseError", "watch", "Watcher", "__version__"]


def watch(model, optimizer, **kwargs):
    """Attaches a :class:`ergowatch.watcher.Watcher` to a model and its optimizer.

    See :class:`ergowatch.watcher.Watcher` for every argument. Requires torch.

    Example:
        >>> import torch, ergowatch
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
        >>> w = ergowatch.watch(model, opt, run="doc-watch", address="localhost:1", close_timeout=0.1)
        >>> loss = model(torch.ones(2, 3)).pow(2).mean()
        >>> loss.backward()
        >>> w.step(loss)
        >>> opt.step(); opt.zero_grad()
        >>> w.close()
    """
    from .watcher import Watcher
    return Watcher(model, optimizer, **kwargs)


def __getattr__(name):
    if name == "Watcher":
        from .watcher import Watcher
        return Watcher
    raise AttributeError(f"module 'ergowatch' has no attribute {name!r}")
