"""Device-side gradient and weight geometry for one parameter set (docs/math.md §2).

:class:`Geometry` turns, once per optimizer step, the parameters w and their gradients g into
0-d device tensors: the well-known series of docs/protocol.md. Everything stays on the
parameters' device and is accumulated in fp32; nothing here reads a value back to the host
(no ``.item()``, no ``float(tensor)``, no data-dependent Python branch), so a step never
waits for the GPU. The caller stacks the tensors and copies them to the host asynchronously.

Definitions (g before clipping, w before the update, u = w_next - w):

- u of a step is known only at the *next* call, when the parameters hold w_next, so the
  update series of step t (update_sq, grad_dot_update, update_dot_prev, ema_update_dot) come
  out of call t+1 and are labelled with step t.
- c, the EMA centre, is the exponential moving average of the weights of the geometry steps
  *before* the current one: c starts at the first geometry step's w, and after step t (used
  by its update series) c <- c + a (w_t - c), a = min(1, every / ema_horizon). So
  ema_dist_sq_t = |w_t - c_t|^2 and, with the same c_t, |w_{t+1} - c_t|^2 =
  ema_dist_sq_t + 2 ema_update_dot_t + update_sq_t (the identity of math.md §2, exact).
  A step the AMP GradScaler skipped does not move c.

Memory (d = parameters measured, fp32): basic 2d (w and g flat); standard and full 6d (three
rotating weight/update buffers, g, c, w - c); on CPU one more d of scratch. Full adds 2d per
live lagged-reference probe and, while it runs, one 32 x 131072 block of random directions.

Example:
    >>> import torch
    >>> from ergowatch.geometry import FlatLayout, Geometry
    >>> w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    >>> geo = Geometry(FlatLayout([w], ["w"]), level="standard")
    >>> w.grad = torch.tensor([1.0, 0.0])
    >>> late, now = geo.step(0)
    >>> float(dict(now)["weight_sq"]), float(dict(now)["grad_sq"])
    (25.0, 1.0)
    >>> with torch.no_grad():
    ...     w -= 0.5 * w.grad
    >>> late, now = geo.step(1)
    >>> float(dict(late)["update_sq"]), float(dict(late)["grad_dot_update"])
    (0.25, -0.5)
"""

import logging
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import torch

__all__ = ["FlatLayout", "Geometry", "Projections", "LaggedReference", "hvp_sharpness", "STANDARD_SERIES",
           "BASIC_SERIES"]

log = logging.getLogger(__name__)

BASIC_SERIES = ("grad_sq", "nonfinite")
STANDARD_SERIES = ("weight_sq", "update_sq", "update_dot_prev", "grad_dot_update", "ema_grad_dot", "ema_dist_sq",
                   "ema_update_dot")
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


CPU_HOST_READS = True
"""On CPU the "device" is the host, so reading a scalar back costs nothing and syncs nothing:
the non-finite count is then computed only when the squared norm it goes with is not finite.
On an accelerator the count is always computed on the device. Tests switch this off to run
the device path on CPU."""


class _Ops:
    """Reductions accumulated in fp32.

    CUDA: cuBLAS dot products; the non-finite count always computed (no read-back). CPU: a
    norm for |a|^2 (one read), multiply into a scratch buffer and a pairwise sum for <a, b>
    (faster and more accurate than the sequential sdot of a reference BLAS), and the count
    only when it can be non-zero (see CPU_HOST_READS).
    """

    def __init__(self, layout: FlatLayout):
        self.cuda = layout.device.type != "cpu"
        self.scratch = None if self.cuda else layout.empty()
        self.zero = torch.zeros((), dtype=torch.int64, device=layout.device)

    def dot(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.cuda:
            return torch.dot(a, b)
        return torch.mul(a, b, out=self.scratch).sum()

    def sq(self, a: torch.Tensor) -> torch.Tensor:
        if self.cuda:
            return torch.dot(a, a)
        return torch.linalg.vector_norm(a).square()

    def nonfinite(self, a: torch.Tensor, sq: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Count of NaN and infinite elements of ``a``; ``sq`` = |a|^2 when known."""
        if self.cuda:
            return a.numel() - torch.isfinite(a).sum()  # one pass over a, one over its bool mask
        if CPU_HOST_READS and sq is not None and bool(torch.isfinite(sq)):
            return self.zero  # a finite sum of squares has only finite terms
        return torch.count_nonzero(torch.sub(a, a, out=self.scratch))  # x - x is 0 iff x is finite


class Geometry:
    """The per-step geometry of one :class:`FlatLayout`; see the module docstring.

    Args:
        layout: the parameters measured.
        level: "basic" (grad_sq, nonfinite) or "standard"/"full" (all of STANDARD_SERIES too).
        every: the standard series are computed at steps divisible by ``every`` (their update
            series one call later); grad_sq and nonfinite at every step.
        ema_horizon: the EMA centre's horizon in steps.
    """

    def __init__(self, layout: FlatLayout, level: str = "standard", every: int = 1, ema_horizon: float = 1000.0):
        if level not in ("basic", "standard", "full"):
            raise ValueError(f"level must be basic, standard or full, got {level!r}")
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if ema_horizon < 1:
            raise ValueError(f"ema_horizon must be >= 1 step, got {ema_horizon}")
        self.layout = layout
        self.level = level
        self.every = int(every)
        self.alpha = min(1.0, self.every / float(ema_horizon))
        self.ops = _Ops(layout)
        self.geometry = level != "basic"
        if self.geometry:
            self._free, self._w, self._nup = layout.empty(), layout.empty(), layout.empty()
            self._c, self._e = layout.empty(), layout.empty()
        else:
            self._free = self._w = layout.empty()
        self._g = layout.empty()
        self._have_w = False
        self._nup_valid = False
        self._prev_geom = False
        self._prev_skip: Optional[torch.Tensor] = None
        self._c_ready = False

    @property
    def current_weights(self) -> torch.Tensor:
        """w of the latest call, flat fp32 (valid until the next call)."""
        return self._w

    @property
    def current_grads(self) -> torch.Tensor:
        """g of the latest call, flat fp32, unscaled (valid until the next call)."""
        return self._g

    def is_geometry_step(self, step: int) -> bool:
        return self.geometry and step % self.every == 0

    def needs_flat(self, step: int) -> bool:
        """Whether this step needs the flat copies of w and g: a geometry step, the steps just
        before and after one (their w gives the updates around it), or a layout whose norms
        cannot be taken in place."""
        if not self.layout.norms_in_place:
            return True
        return self.geometry and (self.is_geometry_step(step) or self._prev_geom
                                  or self.is_geometry_step(step + 1))

    def step(self, step: int, inv_scale: Optional[torch.Tensor] = None, amp: bool = False,
             need_flat: bool = False) -> Tuple[Named, Named]:
        """Measures one optimizer step; call after backward, before ``optimizer.step()``.

        On an accelerator, a step that needs no flat copy (see :meth:`needs_flat`; the caller
        adds its own needs with ``need_flat``) only takes |g|^2 from per-tensor norms, one pass
        over the gradients: then :attr:`current_weights` and :attr:`current_grads` are not
        this step's, and no non-finite count is made (a non-finite gradient shows in grad_sq).

        Args:
            step: the training step of this call.
            inv_scale: 1 / loss scale (0-d device tensor) while the gradients are still scaled.
            amp: a GradScaler is in use: a step whose gradient holds a non-finite value is one
                it skips (the ``_skip`` entry), and it does not move the EMA centre.
            need_flat: the caller needs :attr:`current_weights` / :attr:`current_grads`.

        Returns:
            (late, now): the update series of the previous call's step, and this step's
            series; entries starting with "_" are internal (``_nf_g``, ``_nf_w``, ``_skip``).
        """
        ops = self.ops
        if ops.cuda or not CPU_HOST_READS:
            if not need_flat and not self.needs_flat(step):
                return [], self._in_place(inv_scale, amp)
        geom_now = self.is_geometry_step(step)
        late: Named = []
        now: Named = []
        wn = self.layout.load_params(self._free)
        need_nu = self.geometry and self._have_w and (self._prev_geom or geom_now)
        if need_nu:
            nu = torch.sub(self._w, wn, out=self._w)  # -u of the previous step
            if self._prev_geom:
                late = self._late(nu)
        g = self.layout.load_grads(self._g)
        if inv_scale is not None:
            g.mul_(inv_scale)
        grad_sq = ops.sq(g)
        nf_g = ops.nonfinite(g, grad_sq)
        now.append(("grad_sq", grad_sq))
        now.append(("_nf_g", nf_g))
        weight_sq = ops.sq(wn) if geom_now or not ops.cuda else None
        now.append(("_nf_w", ops.nonfinite(wn, weight_sq)))
        skip = None
        if amp:
            skip = (nf_g > 0).to(torch.float32)
            now.append(("_skip", skip))
        if geom_now:
            now.append(("weight_sq", weight_sq))
            if not self._c_ready:
                self._c.copy_(wn)
                self._c_ready = True
            e = torch.sub(wn, self._c, out=self._e)
            now.append(("ema_grad_dot", ops.dot(g, e)))
            now.append(("ema_dist_sq", ops.sq(e)))
        if self.geometry:
            if need_nu:
                self._nup, self._w, self._free = self._w, wn, self._nup
                self._nup_valid = True
            else:
                self._w, self._free = wn, self._w
                self._nup_valid = False
        self._have_w = True
        self._prev_geom = geom_now
        self._prev_skip = skip
        return late, now

    def _in_place(self, inv_scale: Optional[torch.Tensor], amp: bool) -> Named:
        """grad_sq alone, from per-tensor norms; the flat state is left as it is."""
        self.layout.check_device()
        grad_sq = self.layout.grad_sq_in_place()
        if inv_scale is not None:
            grad_sq = grad_sq * inv_scale.square()
        now: Named = [("grad_sq", grad_sq)]
        if amp:
            now.append(("_skip", torch.isfinite(grad_sq).logical_not().to(torch.float32)))
        self._have_w = False  # the next flat step starts the update chain again
        self._prev_geom = False
        self._prev_skip = None
        return now

    def _late(self, nu: torch.Tensor) -> Named:
        """Update series of the previous step from nu = -u; then moves the EMA centre."""
        ops = self.ops
        out = [("update_sq", ops.sq(nu)), ("grad_dot_update", ops.dot(self._g, nu).neg())]
        if self._nup_valid:
            out.append(("update_dot_prev", ops.dot(nu, self._nup)))
        out.append(("ema_update_dot", ops.dot(nu, self._e).neg()))
        if self._prev_skip is None:
            self._c.add_(self._e, alpha=self.alpha)
        else:
            self._c.addcmul_(self._e, (1.0 - self._prev_skip) * self.alpha)
        return out

    def finish(self) -> Named:
        """The update series of the last step, read from the parameters as they are now (after
        the last ``optimizer.step()``); empty when they did not change or none is pending."""
        if not (self.geometry and self._have_w and self._prev_geom):
            return []
        nu = self.layout.sub_params_from(self._w)
        self._have_w = False
        return self._late(nu)


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

    def __init__(self, layout: FlatLayout, ops: _Ops, ref_every: int, ref_lag: int):
        if ref_every < 1 or ref_lag < 1:
            raise ValueError(f"ref_every and ref_lag must be >= 1, got {ref_every} and {ref_lag}")
        live = -(-ref_lag // ref_every)
        if live > 8:
            raise ValueError(f"ref_lag {ref_lag} / ref_every {ref_every} keeps {live} probes (2 weight-sized copies "
                             f"each) alive; at most 8")
        self.layout = layout
        self.ops = ops
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
            out = [("ref_grad_dot", self.ops.dot(gp, d)), ("ref_dist_sq", self.ops.sq(d)),
                   ("ref_grad_sq", self.ops.sq(gp))]
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
