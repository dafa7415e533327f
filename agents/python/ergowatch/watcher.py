"""``ergowatch.watch``: the PyTorch hook that measures and streams a training run.

The watcher computes on the device (see :mod:`ergowatch.geometry`). On a GPU it gathers each
step's 0-d results and every ``copy_every`` steps concatenates them into one float64 vector
that is copied to the host asynchronously (pinned memory and a CUDA event); it reads a batch
once its event reports completion: no ``.item()``, no ``float(tensor)``, no host sync per
step. On CPU the host is the device and the values are read at once. Records of a geometry
block wait until the block's update is known, then go to the :class:`ergowatch.Agent` in
step order; the agent encodes and sends them on its own thread and never blocks.

By default a :class:`ergowatch.budget.Budget` holds the cost of the measurements near 1% of the
step time by choosing how many steps each geometry block spans (1 to 9) and, where even one dot
product over the gradients costs more than half of that, how often ‖g‖² is measured.
"""

import collections
import logging
import math
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import torch

from . import geometry as geo_mod
from .agent import Agent
from .budget import MAX_BLOCK, Budget
from .distributed import LocalGradNorm, is_ddp, is_fsdp, rank_and_world
from .protocol import Mode, check_series

__all__ = ["Watcher"]

log = logging.getLogger(__name__)

_MAX_IN_FLIGHT = 64
_GRAD_SERIES_NOW = ("grad_sq", "ema_grad_dot")
_perf = time.perf_counter


def _optimizer_labels(optimizer) -> Dict[str, str]:
    """The momentum labels the monitor needs (critical sharpness, Pi's momentum form, the
    forecast): ``momentum`` for SGD with momentum (and ``nesterov``), ``beta1`` for Adam-like
    optimizers, from the first parameter group."""
    groups = getattr(optimizer, "param_groups", None) or [{}]
    g = groups[0]
    out: Dict[str, str] = {}
    m = g.get("momentum")
    if isinstance(m, (int, float)) and m > 0:
        out["momentum"] = repr(float(m))
        if g.get("nesterov"):
            out["nesterov"] = "true"
    betas = g.get("betas")
    if isinstance(betas, (tuple, list)) and betas and isinstance(betas[0], (int, float)):
        out["beta1"] = repr(float(betas[0]))
    return out

READ_CPU_AT_ONCE = True
"""On CPU the host is the device: values are read at once (``.item()`` waits for nothing).
Tests switch this off to run the accelerator's batched, asynchronous path on CPU."""


class _DeviceTimer:
    """Device time of the block starts, read without waiting: a pair of CUDA events around
    each, queried at later steps (``Event.query()`` does not block)."""

    def __init__(self):
        self._open = None
        self._pending = collections.deque()

    def start(self) -> None:
        self._open = torch.cuda.Event(enable_timing=True)
        self._open.record()

    def stop(self) -> None:
        end = torch.cuda.Event(enable_timing=True)
        end.record()
        if len(self._pending) < 8:
            self._pending.append((self._open, end))
        self._open = None

    def poll(self) -> Optional[float]:
        """Seconds of the oldest finished block start, or None."""
        if self._pending and self._pending[0][1].query():
            start, end = self._pending.popleft()
            return start.elapsed_time(end) / 1000.0
        return None


class _HostCopies:
    """Moves batches of device results to the host without waiting for the device.

    CPU: the values are host memory already and are read at once. CUDA: each batch is copied
    with ``non_blocking=True`` into a pinned buffer from a pool, a CUDA event is recorded after
    it, and :meth:`ready` hands out, in order, the batches whose event has completed
    (``Event.query()`` does not wait). More than 64 batches in flight (a device thousands of
    steps behind) waits for the oldest: a bound on host memory, not a per-step sync.
    """

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.device = device
        self.inflight = collections.deque()
        self.pool: List[torch.Tensor] = []

    def submit(self, vec: torch.Tensor, meta: Any) -> None:
        if not self.cuda:
            self.inflight.append((None, vec, vec.numel(), meta, None))
            return
        n = vec.numel()
        fits = [i for i, b in enumerate(self.pool) if b.numel() >= n]
        if fits:
            host = self.pool.pop(fits[0])
        else:
            host = torch.empty(max(n, 256), dtype=torch.float64, pin_memory=True)
        host[:n].copy_(vec, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self.inflight.append((event, host, n, meta, vec))  # vec stays alive until its copy is done

    def ready(self, wait: bool = False) -> List[Tuple[List[float], Any]]:
        out = []
        while self.inflight:
            event, host, n, meta, _ = self.inflight[0]
            if event is not None and not event.query():
                if not (wait or len(self.inflight) > _MAX_IN_FLIGHT):
                    break
                event.synchronize()  # close(), flush() or a device far behind: waiting is wanted
            self.inflight.popleft()
            out.append((host[:n].tolist(), meta))
            if event is not None:
                self.pool.append(host)
        return out


class Watcher:
    """Measures a PyTorch training run and streams it to the ergowatch monitor.

    Call :meth:`step` once per optimizer step, after ``backward()`` (and after
    ``scaler.unscale_`` if you use one) and before gradient clipping and ``optimizer.step()``.

    Series (docs/protocol.md, "Well-known series"; definitions in docs/math.md):

    - ``basic``: loss, lr, grad_sq, nonfinite, batch_size / local_batch_size when given. On
      a GPU, steps that need no flat copy of w and g (basic; standard and full away from
      geometry steps and their neighbours) take grad_sq from per-tensor norms in one pass and
      send no nonfinite (a non-finite gradient shows in grad_sq, which the monitor treats as
      divergence).
    - ``standard`` (default): + weight_sq, ema_grad_dot, ema_dist_sq at the first step of each
      geometry block, and that block's update series update_sq, update_dot_prev,
      ema_update_dot and update_steps (its length); ``full`` adds grad_dot_update. A block is
      ``every`` steps when given, else as long as the cost budget needs (odd lengths 1, 3, 5,
      9 at most by default; docs/protocol.md, "Blocks").
    - ``full``: + proj.0..proj.{projections-1} every ``projection_every`` steps, the lagged-
      reference probes ref_grad_dot, ref_dist_sq, ref_grad_sq, ref_probe_step (probe every
      ``ref_every`` steps, reference ``ref_lag`` steps later) and, with ``sharpness_every``
      and a ``sharpness_probe``, sharpness (top Hessian eigenvalue on the probe batch,
      preconditioned for Adam).

    g is the gradient at :meth:`step` (before clipping; unscaled when a GradScaler scaled
    it), w the weights then, u = w_{t+k} - w_t the update the optimizer applied over a block
    of k steps starting at t. u is known at the block's end, so the records of a block wait
    until then and go out together, in step order (the last block's at :meth:`close`). A
    step the GradScaler skipped (a non-finite unscaled gradient) is reported as
    ``amp_skipped`` = 1 and its gradient series and non-finite gradient count are not sent.

    Distributed (``torch.distributed`` initialised, or ``rank``/``world`` given): REPLICATED
    (DDP, the default) - rank 0 sends the geometry; every rank sends loss and, for a
    DistributedDataParallel model, grad_local_sq (‖g_local‖² before the all-reduce, from a
    communication hook). SHARDED (FSDP, or ``mode="sharded"``) - every rank sends partial sums
    over its own parameters; ``replicated_params`` (present on every rank) count on rank 0 only.

    Example:
        >>> import torch, ergowatch
        >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        >>> x, y = torch.randn(64, 4), torch.randn(64, 1)
        >>> with ergowatch.watch(model, opt, run="doc-mlp", address="localhost:1",
        ...                      close_timeout=0.1) as watch:
        ...     for _ in range(3):
        ...         loss = torch.nn.functional.mse_loss(model(x), y)
        ...         loss.backward()
        ...         watch.step(loss, batch_size=64)
        ...         opt.step(); opt.zero_grad()

    Args:
        model: the model (a DistributedDataParallel or FSDP wrapper is recognised).
        optimizer: its optimizer (lr is read from ``param_groups[0]``).
        run: the run id, 1..128 chars of [A-Za-z0-9._:-].
        address: the monitor's EWP/1 address, host:port.
        job: the group of runs.
        labels: run metadata; ``optimizer`` and ``framework`` are added unless given.
        token: the monitor's auth token.
        level: "basic", "standard" or "full".
        every: steps per geometry block, fixed (1: every step, exact full resolution); default:
            chosen by the budget.
        budget: the share of step time the measurements (‖g‖², the geometry) may spend when
            ``every`` is not given (0.01 = 1%; None: every step). The watcher measures their cost
            and the step time (:mod:`ergowatch.budget`).
        max_block: the longest geometry block the budget chooses (default 9: Π over longer
            blocks reads the slow directions of a weight-decayed network as drift; measured in
            agents/python/README.md). Where a block start costs more than max_block x budget of
            a step, watching costs more than the budget.
        ema_horizon: horizon of the EMA centre in steps: its rate is a = 1 / ema_horizon per
            step (the HELLO label ``ema_alpha``), and a block of k steps moves it by
            a_k = 1 - (1 - a)^k, whatever the block lengths.
        projections: number of random projections (full).
        projection_every: projection cadence in steps (full).
        seed: seed of the projection directions.
        ref_every: lagged-reference probe cadence (full).
        ref_lag: steps from a probe to its reference (full).
        sharpness_every: sharpness cadence in steps; 0 = off.
        sharpness_probe: callable returning the loss on a fixed probe batch, with its graph.
        sharpness_iters: power iterations per estimate.
        scaler: the ``torch.cuda.amp.GradScaler`` (or ``torch.amp.GradScaler``) in use.
        copy_every: steps per device-to-host copy; default 1 on CPU, 16 on CUDA.
        extra_series: names of user series passed to :meth:`step` as keyword arguments.
        params: the parameters to measure (default: every parameter that requires grad).
        replicated_params: in SHARDED mode, parameters held whole by every rank.
        mode: "replicated" or "sharded"; default from the model.
        rank: this rank; default from torch.distributed.
        world: the ranks; default from torch.distributed.
        local_grad: measure grad_local_sq with a DDP communication hook.
        start_step: the step number of the first :meth:`step` (resuming a checkpoint).
        agent: an object with ``record_at(step, time_ns, values)`` and ``close(status,
            message)`` to use instead of a new :class:`ergowatch.Agent` (tests, custom sinks).
        **agent_options: passed to :class:`ergowatch.Agent` (buffer_capacity, close_timeout...).
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, *, run: str,
                 address: str = "localhost:7479", job: str = "", labels: Optional[Mapping[str, str]] = None,
                 token: str = "", level: str = "standard", every: Optional[int] = None,
                 budget: Optional[float] = 0.01, max_block: int = MAX_BLOCK, ema_horizon: float = 1000.0,
                 projections: int = 32, projection_every: int = 10, seed: int = 0, ref_every: int = 100,
                 ref_lag: int = 100, sharpness_every: int = 0, sharpness_probe=None, sharpness_iters: int = 20,
                 scaler=None, copy_every: Optional[int] = None, extra_series: Sequence[str] = (),
                 params: Optional[Iterable] = None, replicated_params: Iterable[torch.Tensor] = (),
                 mode: Optional[str] = None, rank: Optional[int] = None, world: Optional[int] = None,
                 local_grad: bool = True, start_step: int = 0, agent=None, **agent_options):
        if level not in ("basic", "standard", "full"):
            raise ValueError(f"level must be basic, standard or full, got {level!r}")
        if every is None and budget is None:
            every = 1
        for name, v in (("every", every if every is not None else 1), ("projection_every", projection_every),
                        ("sharpness_iters", sharpness_iters)):
            if int(v) != v or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v}")
        if sharpness_every < 0:
            raise ValueError(f"sharpness_every must be >= 0, got {sharpness_every}")
        if sharpness_every and sharpness_probe is None:
            raise ValueError("sharpness_every needs sharpness_probe: a callable returning the loss on a fixed batch")
        self.model = model
        self.optimizer = optimizer
        self.level = level
        self.scaler = scaler
        self.projection_every = int(projection_every)
        self.sharpness_every = int(sharpness_every)
        self.sharpness_probe = sharpness_probe
        self.sharpness_iters = int(sharpness_iters)
        module = model.module if is_ddp(model) else model

        r, w = rank_and_world()
        self.rank = r if rank is None else int(rank)
        self.world = w if world is None else int(world)
        if mode is None:
            mode = "sharded" if is_fsdp(model) else "replicated"
        self.mode = Mode[mode.upper()] if isinstance(mode, str) else Mode(mode)
        self.lead = self.rank == 0
        measures = self.mode == Mode.SHARDED or self.lead

        named = self._named_params(module, params)
        if self.mode == Mode.SHARDED and not self.lead:
            shared = {id(t) for t in replicated_params}
            named = [(n, t) for n, t in named if id(t) not in shared]
        self.geometry: Optional[geo_mod.Geometry] = None
        self.projections: Optional[geo_mod.Projections] = None
        self.reference: Optional[geo_mod.LaggedReference] = None
        self._sharp_v = None
        self._sharp_params = [t for _, t in named]
        device = torch.device("cpu")
        if measures and named:
            layout = geo_mod.FlatLayout([t for _, t in named], [n for n, _ in named])
            device = layout.device
            if ema_horizon < 1:
                raise ValueError(f"ema_horizon must be >= 1, got {ema_horizon}")
            alpha = 1.0 / float(ema_horizon)  # per step; a block of k steps moves the centre by a_k
            # The gradients are re-homed into one flat buffer only for a plain module: DDP and
            # FSDP manage gradient storage themselves.
            adopt = not (is_ddp(model) or is_fsdp(model))
            self.geometry = geo_mod.Geometry(layout, level, alpha, adopt_grads=adopt)
            if level == "full":
                key = f"rank{self.rank}" if self.mode == Mode.SHARDED else ""
                self.projections = geo_mod.Projections(layout, projections, seed, key)
                self.reference = geo_mod.LaggedReference(layout, ref_every, ref_lag)
        elif named:
            device = named[0][1].device
        elif measures:
            raise ValueError("no parameters to watch: none requires grad")
        self.local: Optional[LocalGradNorm] = None
        hook_local = local_grad and self.mode == Mode.REPLICATED and self.world > 1 and is_ddp(model)
        self.sharpness = (self.sharpness_every > 0 and self.lead and self.mode == Mode.REPLICATED)
        if self.sharpness_every and self.mode == Mode.SHARDED:
            raise ValueError("sharpness is not supported in SHARDED mode (the probe needs the whole model)")

        self.extra = list(extra_series)
        series = self._series(hook_local)
        self._declared = set(series)
        self._copies = _HostCopies(device)
        self.copy_every = int(copy_every) if copy_every else (16 if device.type == "cuda" else 1)
        if self.copy_every < 1:
            raise ValueError(f"copy_every must be >= 1, got {copy_every}")
        if every is None and self.mode == Mode.SHARDED and self.world > 1:
            every = 1  # the ranks' partial sums must cover the same blocks: no per-rank budget
        self.every = None if every is None else int(every)
        self.budget = Budget(budget, max_block=max_block) if every is None and self.geometry is not None else None
        # On CPU the values are read at once (the host is the device); tests turn this off to
        # run the accelerator's batched path on CPU.
        self._read_now = device.type == "cpu" and READ_CPU_AT_ONCE
        self._device_timer = _DeviceTimer() if device.type == "cuda" else None
        if agent is None:
            all_labels = {"optimizer": type(optimizer).__name__.lower(), "framework": "pytorch"}
            all_labels.update(_optimizer_labels(optimizer))
            # The parameter count: the monitor calls a job's runs a learning-rate sweep only when
            # they train the same model.
            all_labels["params"] = str(sum(t.numel() for _, t in named))
            if self.geometry is not None and self.geometry.geometry:
                # The EMA centre's rate a: the monitor corrects Pi for the moving centre (math.md §2).
                all_labels["ema_alpha"] = repr(self.geometry.alpha)
            all_labels.update(labels or {})
            agent = Agent(address, run, series, job=job, labels=all_labels, token=token, rank=self.rank,
                          world=self.world, mode=self.mode, **agent_options)
            self._own_agent = True
        else:
            self._own_agent = False
        self.agent = agent
        self.series = tuple(series)
        if hook_local:  # last: a DDP model takes one comm hook, so nothing may fail after it
            self.local = LocalGradNorm(model)

        self._step = int(start_step)
        self._batch_tensors: List[torch.Tensor] = []
        self._batch_meta: List[tuple] = []
        self._waiting: collections.deque = collections.deque()  # records of the open block, first = its start
        self._next_block = self._step  # first step of the next geometry block
        self._block_start: Optional[int] = None
        self._next_grad = self._step
        self._last_version = None
        self._closed = False
        self._warned_closed = False
        self._warned_scaler = False

    # ---- setup ---------------------------------------------------------------------------

    @staticmethod
    def _named_params(module, params) -> List[Tuple[str, torch.Tensor]]:
        names = {id(t): n for n, t in module.named_parameters()}
        if params is None:
            chosen = [(n, t) for n, t in module.named_parameters() if t.requires_grad]
        else:
            chosen = []
            for i, item in enumerate(params):
                if isinstance(item, tuple):
                    chosen.append((str(item[0]), item[1]))
                else:
                    chosen.append((names.get(id(item), f"param{i}"), item))
        seen = set()
        out = []
        for n, t in chosen:
            if id(t) not in seen:
                seen.add(id(t))
                out.append((n, t))
        return out

    def _series(self, local: bool) -> List[str]:
        s = ["loss"]
        if self.lead:
            s += ["lr", "batch_size", "local_batch_size"]
        if self.geometry is not None:
            s += list(geo_mod.BASIC_SERIES)
            if self.level != "basic":
                s += list(geo_mod.STANDARD_SERIES)
            if self.level == "full":
                s += list(geo_mod.FULL_SERIES)
            if self.projections is not None:
                s += self.projections.names()
            if self.reference is not None:
                s += list(geo_mod.REF_SERIES)
        if self.sharpness:
            s.append("sharpness")
        if local:
            s.append("grad_local_sq")
        if self.scaler is not None and self.geometry is not None:
            s.append("amp_skipped")
        for name in self.extra:
            check_series(name)
            if name in s or name.startswith("_"):
                raise ValueError(f"extra series {name!r} collides with a series the watcher sends")
            s.append(name)
        return s

    # ---- per step ------------------------------------------------------------------------

    def step(self, loss=None, *, batch_size: Optional[int] = None, local_batch_size: Optional[int] = None,
             step: Optional[int] = None, **values) -> None:
        """Measures one optimizer step. Never waits for the device or the network.

        Args:
            loss: the minibatch loss (a tensor, kept on its device, or a number).
            batch_size: the global batch size of this step.
            local_batch_size: this rank's batch size; with REPLICATED ranks and no
                ``batch_size``, the global one is taken as local_batch_size x world.
            step: the step number; default: one more than the previous call's.
            **values: values of ``extra_series`` (tensors or numbers).
        """
        if self._closed:
            if not self._warned_closed:
                self._warned_closed = True
                log.warning("ergowatch: watch.step() after close(): ignored")
            return
        t0 = _perf()
        budget = self.budget
        if budget is not None:
            budget.step_started(t0)
        s = self._step if step is None else int(step)
        t_ns = time.time_ns()
        host: Dict[str, float] = {}
        tensors: List[torch.Tensor] = []
        names: List[Tuple[str, int]] = []
        read_now = self._read_now

        def put(name: str, value) -> None:
            if torch.is_tensor(value):
                v = value.detach()
                if v.numel() != 1:
                    raise ValueError(f"{name} must be a single number, got a tensor of shape {tuple(v.shape)}")
                if read_now and v.device.type == "cpu":
                    host[name] = v.item()
                else:
                    tensors.append(v.reshape(1).clone())
                    names.append((name, 1))
            else:
                host[name] = float(value)

        if loss is not None:
            put("loss", loss)
        if self.lead:
            put("lr", self.optimizer.param_groups[0]["lr"])
            if batch_size is None and local_batch_size is not None and self.mode == Mode.REPLICATED:
                batch_size = local_batch_size * self.world
            if batch_size is not None:
                host["batch_size"] = float(batch_size)
            if local_batch_size is not None:
                host["local_batch_size"] = float(local_batch_size)
        for name, value in values.items():
            if name not in self.extra:
                raise ValueError(f"unknown series {name!r}: declare it with extra_series=[...]")
            put(name, value)

        late: geo_mod.Named = []
        now: geo_mod.Named = []
        late_host: Dict[str, float] = {}
        grad_cost = block_cost = None
        if self.geometry is not None:
            late, now, grad_cost, block_cost = self._measure(s, host, late_host)
        if self.sharpness and s % self.sharpness_every == 0:
            lam, self._sharp_v = geo_mod.hvp_sharpness(self._sharp_params, self.sharpness_probe, self.optimizer,
                                                       self.sharpness_iters, self._sharp_v)
            now.append(("sharpness", lam))
        if self.local is not None:
            now.append(("grad_local_sq", self.local.take()))
        self._step = s + 1
        if read_now:
            late_values = {n: t.item() for n, t in late}
            late_values.update(late_host)
            self._assemble(s, t_ns, host, late_values, self._read(now))
        else:
            for name, t in now:
                tensors.append(t.reshape(-1))
                names.append((name if t.numel() == 1 else "_proj", t.numel()))
            self._batch_tensors.extend([t.reshape(-1) for _, t in late] + tensors)
            self._batch_meta.append((s, t_ns, host, [(n, 1) for n, _ in late], names, late_host))
            if len(self._batch_meta) >= self.copy_every:
                self._submit()
            self._deliver(wait=False)
        if budget is not None:
            if grad_cost is not None:
                budget.grad_spent(grad_cost)
            if block_cost is not None and self._device_timer is None:
                budget.block_spent(block_cost)

    def _measure(self, s: int, host: Dict[str, float], late_host: Dict[str, float]):
        """The geometry of step s: ‖g‖² when due, a block start when due, and what full adds.
        Host values go into ``host`` (this step's) and ``late_host`` (the closed block's).

        Returns (late, now, seconds spent on ‖g‖², seconds spent on the block start)."""
        g = self.geometry
        inv_scale, amp = self._scaler_state()
        budget = self.budget
        block_now = g.geometry and s >= self._next_block
        grad_now = block_now or amp or s >= self._next_grad
        project = self.projections is not None and s % self.projection_every == 0
        probe = self.reference is not None and self.reference.needs_flat(s)
        late: geo_mod.Named = []
        now: geo_mod.Named = []
        grad_cost = block_cost = None
        if grad_now:
            t = _perf()
            grad_sq = g.grad_sq(inv_scale, s)
            if self._read_now:  # CPU: the value is here already; a finite |g|^2 has no non-finite term
                v = grad_sq.item()
                host["grad_sq"] = v
                finite = math.isfinite(v)
                host["_nf_g"] = 0.0 if finite else float(geo_mod.nonfinite(g.flat_grads(s, inv_scale)))
                if amp:
                    host["_skip"] = 0.0 if finite else 1.0
            else:
                now.append(("grad_sq", grad_sq))
                if amp:
                    now.append(("_skip", torch.isfinite(grad_sq).logical_not().to(torch.float32)))
                if not g.layout.norms_in_place:
                    now.append(("_nf_g", geo_mod.nonfinite(g.flat_grads(s, inv_scale))))
            grad_cost = _perf() - t
            self._next_grad = s + (budget.next_grad() if budget is not None else 1)
        if block_now:
            t = _perf()
            timer = self._device_timer
            if timer is not None and budget is not None:
                timer.start()
            flat_g = g.flat_grads(s, inv_scale)
            late, geo_now = g.block(s, flat_g)
            if late:
                late_host["update_steps"] = float(s - self._block_start)
            now.extend(geo_now)
            weight_sq = geo_now[0][1]
            now.append(("_nf_w", geo_mod.nonfinite(g.flat_weights(s), weight_sq, self._read_now)))
            if not self._read_now and g.layout.norms_in_place:  # else the ‖g‖² step counted it already
                now.append(("_nf_g", geo_mod.nonfinite(flat_g, None)))
            if timer is not None and budget is not None:
                timer.stop()
            block_cost = _perf() - t
            self._block_start = s
            self._next_block = s + (self.every if budget is None else budget.next_block())
        if self._device_timer is not None and budget is not None:
            done = self._device_timer.poll()
            if done is not None:
                budget.block_spent(done)
        if project:
            now.append(("_proj", self.projections.compute(g.flat_weights(s))))
        if probe:
            ref, probe_step = self.reference.step(s, g.flat_weights(s), g.flat_grads(s, inv_scale))
            now.extend(ref)
            if probe_step is not None:
                host["ref_probe_step"] = float(probe_step)
        self._last_version = g.layout.params_version()
        return late, now, grad_cost, block_cost

    @staticmethod
    def _read(now: geo_mod.Named) -> Dict[str, float]:
        """This step's device values as numbers (CPU: the host is the device; nothing waits)."""
        out = {}
        for name, t in now:
            if name == "_proj":
                for j, v in enumerate(t.tolist()):
                    out[f"proj.{j}"] = v
            else:
                out[name] = t.item()
        return out

    def _scaler_state(self) -> Tuple[Optional[torch.Tensor], bool]:
        """(1 / scale while the gradients are still scaled, whether a scaler is in use)."""
        sc = self.scaler
        if sc is None:
            return None, False
        if not sc.is_enabled():
            return None, False
        try:
            stage = sc._per_optimizer_states[id(self.optimizer)]["stage"]
            scale = sc._scale
        except (AttributeError, KeyError, TypeError):
            if not self._warned_scaler:
                self._warned_scaler = True
                log.warning("ergowatch: cannot tell from this GradScaler whether the gradients are scaled; call "
                            "scaler.unscale_(optimizer) before watch.step()")
            return None, True
        if getattr(stage, "name", str(stage)) == "UNSCALED" or scale is None:
            return None, True
        return scale.double().reciprocal().float(), True

    # ---- host side -----------------------------------------------------------------------

    def _submit(self) -> None:
        """Packs the results of the last steps into one float64 device vector and starts its
        copy. Parts are grouped by dtype first, so that each group is one fused ``cat`` and
        the vector takes a copy per dtype, not a kernel per scalar; the host undoes the
        grouping with ``order``."""
        if not self._batch_meta:
            return
        parts = self._batch_tensors
        groups: Dict[torch.dtype, List[int]] = {}
        starts = []
        n = 0
        for i, t in enumerate(parts):
            groups.setdefault(t.dtype, []).append(i)
            starts.append(n)
            n += t.numel()
        order = [j for idx in groups.values() for i in idx for j in range(starts[i], starts[i] + parts[i].numel())]
        device = parts[0].device if parts else torch.device("cpu")
        vec = torch.empty(n, dtype=torch.float64, device=device)
        if parts:
            packed = [torch.cat([parts[i] for i in idx]) for idx in groups.values()]
            torch.cat(packed, out=vec)
        self._copies.submit(vec, (order, self._batch_meta))
        self._batch_tensors = []
        self._batch_meta = []

    def _deliver(self, wait: bool) -> None:
        for packed, (order, metas) in self._copies.ready(wait):
            values = [0.0] * len(packed)
            for position, v in zip(order, packed):
                values[position] = v
            i = 0
            for s, t_ns, host, late_names, now_names, late_host in metas:
                late = {}
                for name, _ in late_names:
                    late[name] = values[i]
                    i += 1
                late.update(late_host)
                now = {}
                for name, k in now_names:
                    if name == "_proj":
                        for j in range(k):
                            now[f"proj.{j}"] = values[i + j]
                    else:
                        now[name] = values[i]
                    i += k
                self._assemble(s, t_ns, host, late, now)

    def _assemble(self, s: Optional[int], t_ns: int, host: dict, late: dict, now: dict) -> None:
        """One step's values, in step order. ``late`` (the update series of the block that
        ended at this step) completes the block's first record; then the block's records go
        out. A record made while a block is open waits for it; ``s`` None: close()'s last
        block, no record of its own."""
        waiting = self._waiting
        if late and waiting:
            if waiting[0]["skip"]:
                late.pop("grad_dot_update", None)  # <g, u> of a non-finite g
            waiting[0]["values"].update(late)
        if late or s is None or not self._geometry_blocks:
            while waiting:
                self._emit(waiting.popleft())
        if s is None:
            return
        values = host  # a fresh dict of this step's
        values.update(now)
        skip = values.pop("_skip", 0.0) > 0
        nf_g = values.pop("_nf_g", None)
        nf_w = values.pop("_nf_w", None)
        if nf_g is not None or nf_w is not None:
            values["nonfinite"] = (nf_w or 0.0) + (0.0 if skip else (nf_g or 0.0))
        if self.scaler is not None and self.geometry is not None:
            values["amp_skipped"] = 1.0 if skip else 0.0
        if skip:
            for name in _GRAD_SERIES_NOW:
                values.pop(name, None)
        record = {"step": s, "time": t_ns, "values": values, "skip": skip}
        if self._geometry_blocks and (waiting or "weight_sq" in values):
            waiting.append(record)
        else:
            self._emit(record)

    @property
    def _geometry_blocks(self) -> bool:
        return self.geometry is not None and self.geometry.geometry

    def _emit(self, record: dict) -> None:
        values = record["values"]
        if not self._declared.issuperset(values):
            values = {k: v for k, v in values.items() if k in self._declared}
        if values:
            self.agent.record_at(record["step"], record["time"], values)

    # ---- closing -------------------------------------------------------------------------

    def flush(self) -> None:
        """Sends everything measured so far except the records of the open geometry block,
        which wait for its update (this waits for the device: do not call it every step)."""
        self._submit()
        self._deliver(wait=True)

    def close(self, status: str = "completed", message: str = "") -> None:
        """Sends the last block (with its update if ``optimizer.step()`` ran after the last
        :meth:`step`), then closes the agent it created. Safe to call twice.

        Args:
            status: "completed", "failed" or "cancelled" (the BYE status).
            message: a short message for the monitor.
        """
        if self._closed:
            return
        self._closed = True
        try:
            g = self.geometry
            moved = (g is not None and self._last_version is not None
                     and g.layout.params_version() != self._last_version)
            late_host: Dict[str, float] = {}
            late: geo_mod.Named = []
            if moved and g.layout.params[0].device != g.layout.device:
                log.warning("ergowatch: the parameters left %s before close(); the last block's update series "
                            "are not sent", g.layout.device)
            elif moved and g.block_open:
                late = g.finish(self._step)
                late_host["update_steps"] = float(self._step - self._block_start)
            if self._read_now:
                values = {n: t.item() for n, t in late}
                values.update(late_host if late else {})
                self._assemble(None, 0, {}, values, {})
            else:
                self._batch_tensors.extend(t.reshape(-1) for _, t in late)
                self._batch_meta.append((None, 0, {}, [(n, 1) for n, _ in late], [], late_host if late else {}))
                self._submit()
                self._deliver(wait=True)
        finally:
            if self._own_agent:
                self.agent.close(status, message)

    def __enter__(self) -> "Watcher":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc is None:
            self.close()
        else:
            self.close("failed", f"{exc_type.__name__}: {exc}")
