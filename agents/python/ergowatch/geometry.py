"""Device-side gradient and weight geometry for one parameter set (docs/math.md §2).

:class:`Geometry` turns the parameters w and their gradients g into 0-d device tensors: the
well-known series of docs/protocol.md. Everything stays on the parameters' device and is
accumulated in fp32; nothing here reads a value back to the host (no ``.item()``, no
``float(tensor)``, no data-dependent Python branch), except on CPU where the host is the
device. The caller gathers the tensors and copies them to the host asynchronously.

grad_sq is taken at every step the caller asks for: one dot product over the gradients,
which :class:`FlatGrads` keeps as views of one flat buffer where it can. The rest is measured
over **blocks** (docs/protocol.md, "Blocks"): at block starts t_0 < t_1 < ... (every step,
every k steps, or wherever the caller's budget puts them) with g before clipping and w
before the update:

- u_i = w_{t_{i+1}} - w_{t_i}, the whole block's update, is known at the next block start,
  so the update series of block i (update_sq, update_dot_prev = <u_i, u_{i-1}>,
  ema_update_dot, and at full grad_dot_update = <g_{t_i}, u_i>) come out of the call at
  t_{i+1} and are labelled with t_i; ``update_steps`` = t_{i+1} - t_i is the caller's.
- c, the EMA centre, starts at w_{t_0} and moves once per block: after block i,
  c <- c + a (w_{t_i} - c). So ema_dist_sq_i = |w_{t_i} - c_i|^2 and, with the same c_i,
  |w_{t_{i+1}} - c_i|^2 = ema_dist_sq_i + 2 ema_update_dot_i + update_sq_i: the identity of
  math.md §2 holds exactly on the chain of block starts, and the sums of Π over blocks
  telescope as they do over steps.

Cost of a block start (plain tensor ops, fused where torch fuses them): one copy of w, one
subtraction for u, one matrix-vector product for every inner product of u (the rows of the
[3, d] buffer: the previous update, e = w - c and u itself), one fused update of e, three
dot products for weight_sq, ema_grad_dot and ema_dist_sq.

Example:
    >>> import torch
    >>> from ergowatch.geometry import FlatLayout, Geometry
    >>> w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    >>> geo = Geometry(FlatLayout([w], ["w"]), level="standard")
    >>> w.grad = torch.tensor([1.0, 0.0])
    >>> float(geo.grad_sq())
    1.0
    >>> late, now = geo.block(0, geo.flat_grads(0, None))
    >>> float(dict(now)["weight_sq"])
    25.0
    >>> with torch.no_grad():
    ...     w -= 0.5 * w.grad
    >>> late, now = geo.block(1, geo.flat_grads(1, None))
    >>> float(dict(late)["update_sq"])
    0.25
"""

import logging
import math
import operator
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import torch

__all__ = ["FlatLayout", "Geometry", "Projections", "LaggedReference", "hvp_sharpness", "STANDARD_SERIES",
           "BASIC_SERIES", "FlatGrads"]

log = logging.getLogger(__name__)

BASIC_SERIES = ("grad_sq", "nonfinite")
STANDARD_SERIES = ("weight_sq", "update_sq", "update_dot_prev", "ema_grad_dot", "ema_dist_sq", "ema_update_dot",
                   "update_steps")
FULL_SERIES = ("grad_dot_update",)
REF_SERIES = ("ref_grad_dot", "ref_dist_sq", "ref_grad_sq", "ref_probe_step")
PROJECTION_BLOCK = 1 << 22  # random numbers generated at once (16 MiB of fp32)

Named = List[Tuple[str, torch.Tensor]]


class FlatLayout:
    """A list of parameters on one device, seen as one flat fp32 vector.

    Args:
        params: the parameters (all on one device).
        names: one name per parameter (it keys the random directions of the projections).

    Raises:
        ValueError: no parameters, or parameters on several devices.
    """

    def __init__(self, params: Sequence[torch.Tensor], names: Sequence[str]):
        self.params = list(params)
        self.names = list(names)
        if not self.params:
            raise ValueError("no parameters to watch (none requires grad?)")
        if len(self.names) != len(self.params):
            raise ValueError("one name per parameter")
        devices = {p.device for p in self.params}
        if len(devices) > 1:
            raise ValueError(f"parameters on several devices {sorted(map(str, devices))}: ergowatch measures one "
                             f"device per watcher (give it the parameters of one device with params=...)")
        self.device = self.params[0].device
        self.numels = [p.numel() for p in self.params]
        self.offsets = []
        n = 0
        for k in self.numels:
            self.offsets.append(n)
            n += k
        self.numel = n
        self._zeros: Dict[int, torch.Tensor] = {}
        self._warned_sparse = False

    def empty(self) -> torch.Tensor:
        return torch.empty(self.numel, dtype=torch.float32, device=self.device)

    def check_device(self) -> None:
        """Raises if the parameters left the device the buffers were made for (``model.to()``
        after the watcher was created), instead of computing across devices."""
        now = self.params[0].device
        if now != self.device:
            raise RuntimeError(f"ergowatch: the parameters moved from {self.device} to {now} after the watcher was "
                               f"created; create it (ergowatch.watch) after moving the model to its device")

    def load_params(self, out: torch.Tensor) -> torch.Tensor:
        """Copies w into ``out`` (one fused kernel; casts to fp32)."""
        self.check_device()
        torch.cat([p.detach().reshape(-1) for p in self.params], out=out)
        return out

    def load_grads(self, out: torch.Tensor) -> torch.Tensor:
        """Copies g into ``out``; a parameter without a gradient contributes zeros."""
        parts = []
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                z = self._zeros.get(i)
                if z is None:
                    z = self._zeros[i] = torch.zeros((), dtype=torch.float32, device=self.device).expand(self.numels[i])
                parts.append(z)
                continue
            if g.is_sparse:
                if not self._warned_sparse:
                    log.warning("ergowatch: sparse gradient of %s densified for the geometry (memory)", self.names[i])
                    self._warned_sparse = True
                g = g.to_dense()
            parts.append(g.detach().reshape(-1))
        torch.cat(parts, out=out)
        return out

    @property
    def norms_in_place(self) -> bool:
        """Whether grad_sq_in_place() applies: every parameter fp32 or fp64 (a half-precision norm
        could overflow, e.g. of a loss-scaled gradient)."""
        return all(p.dtype in (torch.float32, torch.float64) for p in self.params)

    def grad_sq_in_place(self) -> torch.Tensor:
        """|g|^2 from per-tensor norms (``torch._foreach_norm``: one multi-tensor pass over the
        gradients, no copy); a parameter without a gradient counts 0."""
        grads = []
        for p in self.params:
            g = p.grad
            if g is not None:
                grads.append(g.detach().to_dense() if g.is_sparse else g.detach())
        if not grads:
            return torch.zeros((), dtype=torch.float32, device=self.device)
        return torch.stack([n.float() for n in torch._foreach_norm(grads)]).square().sum()

    def sub_params_from(self, buf: torch.Tensor) -> torch.Tensor:
        """buf <- buf - w, in place (one fused multi-tensor kernel)."""
        self.check_device()
        views = [buf[o:o + n].view(p.shape) for o, n, p in zip(self.offsets, self.numels, self.params)]
        torch._foreach_sub_(views, [p.detach() for p in self.params])
        return buf

    def params_version(self) -> int:
        """Sum of the parameters' version counters: it changes when an optimizer updates them."""
        return sum(getattr(p, "_version", 0) for p in self.params)


_GRAD = operator.attrgetter("grad")


def block_rate(a: float, k: int) -> float:
    """The centre's rate over a block of k steps, a_k = 1 - (1 - a)^k: what k steps of a
    per-step EMA of rate a do to a centre whose target stays put (docs/protocol.md "Blocks")."""
    return 1.0 if a >= 1.0 else -math.expm1(k * math.log1p(-a))


def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """<a, b> of two flat fp32 vectors (BLAS; on CPU as accurate as a pairwise sum, measured)."""
    return torch.dot(a, b)


def nonfinite(a: torch.Tensor, sq: Optional[torch.Tensor] = None, host_reads: bool = False) -> torch.Tensor:
    """Count of NaN and infinite elements of ``a``; ``sq`` = |a|^2 when known.

    With ``host_reads`` (CPU, where the "device" is the host and reading ``sq`` back syncs
    nothing) the count is made only when it can be non-zero: a finite sum of squares has only
    finite terms. Otherwise it is always made (no read-back)."""
    if host_reads and sq is not None and bool(torch.isfinite(sq)):
        return torch.zeros((), dtype=torch.int64)
    return a.numel() - torch.isfinite(a).sum()


class FlatGrads:
    """The gradients as one flat fp32 vector, without a copy where it can be had.

    Where every gradient is a dense, contiguous fp32 tensor on the layout's device, the first
    call re-homes them into one flat buffer (each ``p.grad`` becomes a view of it, values
    kept), so that |g|^2 is one dot product and the geometry reads g in place. Backward then
    accumulates into those views, and ``zero_grad(set_to_none=False)`` (torch 1.x's default)
    zeroes them in place. A parameter that has no gradient keeps ``None`` (an optimizer
    still skips it) and its slice of the buffer stays 0.

    Whether the views still are the gradients is checked at every call (an identity test per
    parameter, done by ``map`` in C). ``zero_grad(set_to_none=True)`` (torch 2's default)
    replaces them every step: after two such steps in a row the gradients are read as they
    are (per-tensor norms, a copy for the geometry) and adoption is tried again only every
    1000 steps.
    """

    RETRY = 1000

    def __init__(self, layout: FlatLayout, adopt: bool = True):
        self.layout = layout
        p = layout.params
        self.enabled = adopt and all(q.dtype == torch.float32 and not q.is_sparse for q in p)
        self.flat: Optional[torch.Tensor] = None
        self._views: List[Optional[torch.Tensor]] = []
        self._misses = 0
        self._retry_at = 0
        self._calls = 0
        self._step: Optional[int] = None
        self._last: Optional[torch.Tensor] = None
        self.adoptions = 0

    def current(self, step: Optional[int] = None) -> Optional[torch.Tensor]:
        """The flat gradient if the parameters' gradients are its views now (adopting them when
        due), else None. Decided once per ``step``."""
        if step is not None and step == self._step:
            return self._last
        self._step = step
        self._last = self._current()
        return self._last

    def _current(self) -> Optional[torch.Tensor]:
        self._calls += 1
        if self.flat is not None and all(map(operator.is_, map(_GRAD, self.layout.params), self._views)):
            self._misses = 0
            return self.flat
        if not self.enabled or self._calls < self._retry_at:
            return None
        self._misses += 1
        if self._misses > 2:
            self._retry_at = self._calls + self.RETRY
            self._misses = 0
            return None
        return self._adopt()

    def _adopt(self) -> Optional[torch.Tensor]:
        layout = self.layout
        grads = [q.grad for q in layout.params]
        for q, g in zip(layout.params, grads):
            if g is not None and (g.is_sparse or g.dtype != torch.float32 or g.device != layout.device
                                  or not g.is_contiguous() or g.shape != q.shape):
                return None
        if all(g is None for g in grads):
            return None
        if self.flat is None:
            self.flat = torch.zeros(layout.numel, dtype=torch.float32, device=layout.device)
        views: List[Optional[torch.Tensor]] = []
        for q, g, o, n in zip(layout.params, grads, layout.offsets, layout.numels):
            v = self.flat[o:o + n]
            if g is None:
                v.zero_()  # no gradient counts 0
                views.append(None)
                continue
            v = v.view(q.shape)
            if g.data_ptr() != v.data_ptr():  # a gradient that is still our view keeps its values
                v.copy_(g)
                q.grad = v
            views.append(q.grad)
        self._views = views
        self.adoptions += 1
        return self.flat


class Geometry:
    """The geometry of one :class:`FlatLayout` over blocks of steps; see the module docstring.

    :meth:`grad_sq` runs at every step (or at the steps the caller chooses); :meth:`block`
    at the first step of each block. Buffers (d = parameters measured, fp32): the current
    and the block-start weights, the update and the previous update, e = w - c (rows of one
    [3, d] tensor, [4, d] at full with g of the block start); plus a flat g where the
    gradients cannot be read in place.

    Args:
        layout: the parameters measured.
        level: "basic" (grad_sq, nonfinite) or "standard"/"full" (the block series too).
        ema_alpha: the centre's rate a per step: over a block of k steps it moves by
            a_k = 1 - (1 - a)^k (:func:`block_rate`, docs/protocol.md "Blocks").
        adopt_grads: allow re-homing the gradients into one flat buffer (:class:`FlatGrads`).
    """

    def __init__(self, layout: FlatLayout, level: str = "standard", ema_alpha: float = 0.001,
                 adopt_grads: bool = True):
        if level not in ("basic", "standard", "full"):
            raise ValueError(f"level must be basic, standard or full, got {level!r}")
        if not 0 < ema_alpha <= 1:
            raise ValueError(f"ema_alpha must be within (0, 1], got {ema_alpha}")
        self.layout = layout
        self.level = level
        self.alpha = float(ema_alpha)
        self.geometry = level != "basic"
        self.full = level == "full"
        self.grads = FlatGrads(layout, adopt_grads)
        self._g: Optional[torch.Tensor] = None  # flat copy of g where it cannot be read in place
        self._w_free: Optional[torch.Tensor] = None  # flat w of the latest load (free for the next one)
        self._w_step: Optional[int] = None
        self._w_now: Optional[torch.Tensor] = None
        self._g_step: Optional[int] = None
        self._g_now: Optional[torch.Tensor] = None
        if self.geometry:
            self._rows = torch.empty(4 if self.full else 3, layout.numel, dtype=torch.float32, device=layout.device)
            self._w_start = layout.empty()
            self._w_free = layout.empty()
        self._u = 0  # row of the next update; the other of rows 0..1 holds the previous one
        self._start: Optional[int] = None  # first step of the open block
        self._have_prev = False

    # ---- every step ------------------------------------------------------------------

    def grad_sq(self, inv_scale: Optional[torch.Tensor] = None, step: Optional[int] = None) -> torch.Tensor:
        """|g|^2 (unscaled): one dot on the flat gradient, or per-tensor norms. (Where the
        parameters moved to another device, :meth:`flat_weights` says so at the next block.)"""
        flat = self.grads.current(step)
        if flat is not None:
            sq = dot(flat, flat)
        elif not self.layout.norms_in_place:
            g = self.flat_grads(step, inv_scale)  # unscaled already, and the block start reuses this copy
            return dot(g, g)
        else:
            sq = self.layout.grad_sq_in_place()
        return sq if inv_scale is None else sq * inv_scale.square()

    def flat_grads(self, step: Optional[int], inv_scale: Optional[torch.Tensor]) -> torch.Tensor:
        """g of this step as one flat fp32 vector, unscaled (in place where it can be; valid
        until the next optimizer step, do not modify)."""
        if step is not None and self._g_step == step:
            return self._g_now
        flat = self.grads.current(step) if inv_scale is None else None
        if flat is None:
            if self._g is None:
                self._g = self.layout.empty()
            flat = self.layout.load_grads(self._g)
            if inv_scale is not None:
                flat.mul_(inv_scale)
        self._g_step, self._g_now = step, flat
        return flat

    def flat_weights(self, step: int) -> torch.Tensor:
        """w of this step as one flat fp32 vector (one fused copy, made once per step; valid
        until the next step)."""
        if self._w_step != step:
            if self._w_free is None:
                self._w_free = self.layout.empty()
            self._w_now = self.layout.load_params(self._w_free)
            self._w_step = step
        return self._w_now

    # ---- blocks ----------------------------------------------------------------------

    @property
    def block_open(self) -> bool:
        return self._start is not None

    def block(self, step: int, g: torch.Tensor) -> Tuple[Named, Named]:
        """Closes the open block at this step and opens the next one.

        Args:
            step: the step of this call (the block's first step).
            g: this step's flat unscaled gradient (:meth:`flat_grads`).

        Returns:
            (late, now): the update series of the block that ends here (labelled with its first
            step; empty for the first block), and this step's weight_sq, ema_grad_dot and
            ema_dist_sq.
        """
        w = self.flat_weights(step)
        late = self._close(w, step)
        e = self._rows[2]
        if late is None:
            late = []
            e.zero_()  # c starts at the first block's w
        now: Named = [("weight_sq", dot(w, w)), ("ema_grad_dot", dot(e, g)), ("ema_dist_sq", dot(e, e))]
        if self.full:
            self._rows[3].copy_(g)
        self._w_start, self._w_free = w, self._w_start  # w stays this step's flat_weights()
        self._start = step
        return late, now

    def _close(self, w: torch.Tensor, end: int) -> Optional[Named]:
        """The update series of the open block ending at weights w (those of step ``end``); moves
        the centre by the block's rate."""
        if self._start is None:
            return None
        rows = self._rows
        u = rows[self._u]
        torch.sub(w, self._w_start, out=u)
        prods = torch.mv(rows, u)  # <u,u> or <u_prev,u>, <u_prev,u> or <u,u>, <e,u>[, <g_start,u>]: one pass
        late: Named = [("update_sq", prods[self._u]), ("ema_update_dot", prods[2])]
        if self._have_prev:
            late.append(("update_dot_prev", prods[1 - self._u]))
        if self.full:
            late.append(("grad_dot_update", prods[3]))
        # e' = w' - c' with c' = c + a_k e: e' = u + (1 - a_k) e, in place.
        torch.add(u, rows[2], alpha=1.0 - block_rate(self.alpha, end - self._start), out=rows[2])
        self._u = 1 - self._u
        self._have_prev = True
        return late

    def finish(self, end: int) -> Named:
        """The update series of the open block, read from the parameters as they are now
        (after the last ``optimizer.step()``, those of step ``end``); empty when no block is open."""
        if self._start is None:
            return []
        self.layout.check_device()
        w = self.layout.load_params(self._w_free)
        late = self._close(w, end)
        self._start = None
        return late or []


class Projections:
    """proj.j = <theta_j, w> for fixed random directions theta_j with N(0, 1) coordinates.

    The directions are generated on the parameters' device block by block (at most
    ``PROJECTION_BLOCK`` numbers at once) from seeds derived from (seed, rank key, parameter
    name, block index), used and discarded: the k x d matrix is never stored. The same seed
    gives the same directions at every call (on one device type).
    """

    def __init__(self, layout: FlatLayout, count: int = 32, seed: int = 0, key: str = ""):
        if not 1 <= count <= 1024:
            raise ValueError(f"projections must be within 1..1024, got {count}")
        self.layout = layout
        self.count = count
        self.block = max(1, PROJECTION_BLOCK // count)
        self.cuda = layout.device.type == "cuda"
        self.gen = torch.Generator(device=layout.device)
        self.seeds = [((seed & 0xFFFFFFFF) << 31) ^ (zlib.crc32(f"{key}/{name}".encode()) << 1)
                      for name in layout.names]

    def names(self) -> List[str]:
        return [f"proj.{j}" for j in range(self.count)]

    def compute(self, w: torch.Tensor) -> torch.Tensor:
        """The projections of the flat weights ``w`` (a (count,) fp32 device tensor)."""
        acc = torch.zeros(self.count, dtype=torch.float32, device=self.layout.device)
        for base_seed, off, n in zip(self.seeds, self.layout.offsets, self.layout.numels):
            for b, start in enumerate(range(0, n, self.block)):
                k = min(self.block, n - start)
                self.gen.manual_seed((base_seed + b) & 0x7FFF_FFFF_FFFF_FFFF)
                theta = torch.randn(self.count, k, generator=self.gen, device=self.layout.device,
                                    dtype=torch.float32)
                chunk = w[off + start:off + start + k]
                if self.cuda:
                    acc.add_(torch.mv(theta, chunk))
                else:
                    acc.add_(theta.mul_(chunk).sum(dim=1))
        return acc


class LaggedReference:
    """Lagged-reference probes: at probe steps p (every ``ref_every``) keep w_p and g_p; at the
    reference step r = p + ``ref_lag`` emit ref_grad_dot = <g_p, w_p - w_r>, ref_dist_sq =
    |w_p - w_r|^2, ref_grad_sq = |g_p|^2 and ref_probe_step = p (the reference point is chosen
    later, exactly, without a replay; docs/math.md §1, "no wrong turns")."""

    def __init__(self, layout: FlatLayout, ref_every: int, ref_lag: int):
        if ref_every < 1 or ref_lag < 1:
            raise ValueError(f"ref_every and ref_lag must be >= 1, got {ref_every} and {ref_lag}")
        live = -(-ref_lag // ref_every)
        if live > 8:
            raise ValueError(f"ref_lag {ref_lag} / ref_every {ref_every} keeps {live} probes (2 weight-sized copies "
                             f"each) alive; at most 8")
        self.layout = layout
        self.every = ref_every
        self.lag = ref_lag
        self.probes: List[Tuple[int, torch.Tensor, torch.Tensor]] = []
        self.pool: List[torch.Tensor] = []

    def needs_flat(self, step: int) -> bool:
        """Whether :meth:`step` reads w or g at this step (a probe to take or one due)."""
        return step % self.every == 0 or any(p + self.lag <= step for p, _, _ in self.probes)

    def step(self, step: int, w: torch.Tensor, g: torch.Tensor) -> Tuple[Named, Optional[int]]:
        """Evaluates a due probe against w (at most one per call), then snapshots a new one.

        Returns:
            (series, probe step) of the evaluated probe, or ([], None).
        """
        out: Named = []
        probe_step = None
        due = [pr for pr in self.probes if pr[0] + self.lag <= step]
        if due:
            p, wp, gp = due[-1]  # steps never skip in practice; if they do, the latest due wins
            d = torch.sub(wp, w, out=wp)
            out = [("ref_grad_dot", dot(gp, d)), ("ref_dist_sq", dot(d, d)), ("ref_grad_sq", dot(gp, gp))]
            probe_step = p
            self.probes = [pr for pr in self.probes if pr[0] + self.lag > step]
            for pr in due:
                self.pool.extend((pr[1], pr[2]))
        if step % self.every == 0:
            wp = self._buffer().copy_(w)
            gp = self._buffer().copy_(g)
            self.probes.append((step, wp, gp))
        return out, probe_step

    def _buffer(self) -> torch.Tensor:
        return self.pool.pop() if self.pool else self.layout.empty()


def _adam_preconditioner(optimizer, params) -> Optional[List[torch.Tensor]]:
    """D = P^{-1/2} with P = diag(sqrt(v_hat) + eps), for Adam/AdamW; None for others."""
    if not isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW)):
        return None
    group_of = {id(q): g for g in optimizer.param_groups for q in g["params"]}
    out = []
    for p in params:
        group = group_of[id(p)]
        state = optimizer.state.get(p, {})
        if "exp_avg_sq" not in state:
            return None  # before the first step: no preconditioner yet
        beta2 = group["betas"][1]
        step = state["step"]
        # A tensor step (torch >= 1.12) stays a tensor: a CPU 0-d one enters device math as a
        # scalar, a device one (capturable Adam) stays there; neither waits for the device.
        bc2 = 1 - beta2 ** (step.to(torch.float32) if torch.is_tensor(step) else float(step))
        denom = (state["exp_avg_sq"].float() / bc2).sqrt_().add_(group["eps"])
        out.append(denom.rsqrt_())
    return out


def hvp_sharpness(params: Sequence[torch.Tensor], probe, optimizer=None, iters: int = 20,
                  v0: Optional[List[torch.Tensor]] = None) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """Top Hessian eigenvalue of the probe loss by power iteration on Hessian-vector products.

    For Adam/AdamW the preconditioned sharpness lambda_max(P^-1 H), P = diag(sqrt(v_hat) + eps),
    computed as lambda_max(P^-1/2 H P^-1/2) (Cohen et al.; compare with 38 / lr for beta1 = 0.9).
    A fixed number of iterations and no convergence test: no host sync. Does not touch ``.grad``.

    Args:
        params: the parameters.
        probe: callable returning the loss on a fixed probe batch (with its graph).
        optimizer: to precondition for Adam/AdamW.
        iters: power iterations.
        v0: a start vector (the previous result's), or None for a seeded random one.

    Returns:
        (estimate as a 0-d fp32 device tensor, the final vector for a warm start).
    """
    params = [p for p in params]
    loss = probe()
    grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    pairs = [(p, g) for p, g in zip(params, grads) if g is not None]
    ps = [p for p, _ in pairs]
    gs = [g for _, g in pairs]
    d = _adam_preconditioner(optimizer, ps) if optimizer is not None else None
    if v0 is None or len(v0) != len(ps):
        gen = torch.Generator(device=ps[0].device)
        gen.manual_seed(12345)
        v = [torch.randn(p.shape, generator=gen, device=p.device, dtype=torch.float32) for p in ps]
    else:
        v = v0
    norm = torch.stack([x.pow(2).sum() for x in v]).sum().sqrt()
    v = [x / norm for x in v]
    lam = torch.zeros((), dtype=torch.float32, device=ps[0].device)
    for _ in range(iters):
        u = [x * di for x, di in zip(v, d)] if d is not None else v
        hv = torch.autograd.grad(gs, ps, grad_outputs=[x.to(p.dtype) for x, p in zip(u, ps)], retain_graph=True,
                                 allow_unused=True)
        hv = [torch.zeros_like(x) if h is None else h.float() for x, h in zip(v, hv)]
        if d is not None:
            hv = [h * di for h, di in zip(hv, d)]
        lam = torch.stack([(x * h).sum() for x, h in zip(v, hv)]).sum()
        norm = torch.stack([h.pow(2).sum() for h in hv]).sum().sqrt()
        v = [h / (norm + 1e-30) for h in hv]
    return lam.detach(), [x.detach() for x in v]
