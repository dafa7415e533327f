"""Distributed training: who this rank is, and ‖g_local‖² before DDP's all-reduce.

docs/protocol.md, "Ranks": in REPLICATED runs (DDP) rank 0 sends the geometry and every rank
sends its loss and grad_local_sq, the squared norm of its own minibatch gradient before the
all-reduce (with the global grad_sq it gives the monitor two batch sizes, hence the gradient
signal and noise scale of docs/math.md §3). In SHARDED runs (FSDP, tensor parallel) every rank
sends partial sums over the parameters it owns, and the monitor adds them.

Example:
    >>> from ergowatch.distributed import rank_and_world
    >>> rank_and_world()      # outside torch.distributed
    (0, 1)
"""

import logging
from typing import Optional, Tuple

import torch

__all__ = ["rank_and_world", "is_ddp", "is_fsdp", "LocalGradNorm"]

log = logging.getLogger(__name__)


def rank_and_world() -> Tuple[int, int]:
    """(rank, world size) of the default process group, or (0, 1) without one."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_ddp(model) -> bool:
    return isinstance(model, torch.nn.parallel.DistributedDataParallel)


def is_fsdp(model) -> bool:
    return type(model).__name__ == "FullyShardedDataParallel"


class LocalGradNorm:
    """A DDP communication hook that adds up ‖bucket‖² of the local gradient buckets, then
    runs DDP's default all-reduce; :meth:`take` returns the sum since the last call.

    Register it before the first backward (a DDP model takes one communication hook). The
    squared norm is enqueued on the device before the all-reduce divides the bucket in place,
    so it is the local gradient; nothing waits for it.
    """

    def __init__(self, ddp_model):
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
        self._allreduce = default_hooks.allreduce_hook
        self._acc: Optional[torch.Tensor] = None
        self._device = next(ddp_model.parameters()).device
        ddp_model.register_comm_hook(ddp_model.process_group, self._hook)

    def _hook(self, state, bucket):
        buf = bucket.buffer() if hasattr(bucket, "buffer") else bucket.get_tensor()
        sq = torch.linalg.vector_norm(buf, dtype=torch.float32).square()
        self._acc = sq if self._acc is None else self._acc + sq
        return self._allreduce(state, bucket)

    def take(self) -> torch.Tensor:
        """‖g_local‖² accumulated since the last call (0-d fp32 device tensor)."""
        acc, self._acc = self._acc, None
        if acc is None:
            return torch.zeros((), dtype=torch.float32, device=self._device)
        return acc
