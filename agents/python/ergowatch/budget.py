"""The agent's cost budget: how often the geometry runs so that watching costs what was allowed.

The watcher tells a :class:`Budget` when each ``step()`` starts (the training step's period)
and what its own work cost: the fixed part (loss, lr, the record: paid at every step, a few
µs, not budgeted), ‖g‖² and each geometry block start. The budget (a fraction of the step
time) is what ‖g‖² and the geometry may spend; it chooses two cadences from :data:`CADENCES`:

- ``block``: steps per geometry block. Odd, so that a period-2 orbit still shows in the block
  updates (w_{t+k} - w_t of an orbit flipping every step is the flip itself when k is odd;
  it would be 0 for even k): κ and R2 keep their meaning on the block chain.
- ``grad``: steps between two ‖g‖² where even a dot product over the gradients costs more
  than half the budget (a model whose step is a few FLOPs per parameter, e.g. an MLP at
  batch 64 on one CPU thread); 1 everywhere else. A block start always measures ‖g‖².

The choice uses exponential moving averages of the measured costs, goes up as soon as the
budget is exceeded, and comes down only as far as the work would then spend at most half of
what is allowed: the cadence does not flap between neighbours.

Pure: the caller passes the clock readings (seconds).
"""

from typing import Optional

__all__ = ["Budget", "CADENCES"]

CADENCES = (1, 3, 5, 9, 17, 33, 65, 129, 257, 513, 1025)
"""Steps per block (2^j + 1: odd, about doubling)."""

_SMOOTHING = 0.25  # weight of a new measurement in the moving averages


class _Ewma:
    """A moving average whose first sample is dropped: the first call of any work allocates its
    buffers (and re-homes the gradients), which would hold a rare cadence up for long."""

    def __init__(self, skip_first: bool = False) -> None:
        self.value: Optional[float] = None
        self._skip = skip_first

    def add(self, x: float) -> None:
        if self._skip:
            self._skip = False
        elif self.value is None:
            self.value = x
        else:
            self.value += _SMOOTHING * (x - self.value)


class Budget:
    """Chooses the geometry's and the gradient norm's cadences under a cost budget.

    Args:
        fraction: the share of step time the agent may spend (0.01: 1%).
        block: the first block's length (1: measure the cost on the first steps).
    """

    def __init__(self, fraction: float = 0.01, block: int = 1):
        if not 0 < fraction < 1:
            raise ValueError(f"budget must be a fraction of step time within (0, 1), got {fraction}")
        self.fraction = float(fraction)
        self.block = _cadence_at_least(block)
        self.grad = 1
        self._period = _Ewma()
        self._fixed = _Ewma()  # per-step work other than ‖g‖²
        self._grad_cost = _Ewma(skip_first=True)
        self._block_cost = _Ewma(skip_first=True)
        self._last_start: Optional[float] = None

    # ---- measurements ----------------------------------------------------------------

    def step_started(self, now: float) -> None:
        """A training step's ``watch.step()`` began at ``now``: the period between two is the step time."""
        if self._last_start is not None and now > self._last_start:
            self._period.add(now - self._last_start)
        self._last_start = now

    def spent(self, fixed: float, grad: Optional[float] = None) -> None:
        """The cost of one ``step()`` beyond a block start: its fixed part, and ‖g‖² when it ran."""
        self._fixed.add(max(fixed, 0.0))
        if grad is not None:
            self._grad_cost.add(max(grad, 0.0))

    def block_spent(self, seconds: float) -> None:
        """The cost of one block start (on an accelerator: its device time, known a step or more later)."""
        self._block_cost.add(max(seconds, 0.0))

    # ---- decisions -------------------------------------------------------------------

    @property
    def step_time(self) -> Optional[float]:
        return self._period.value

    @property
    def cost_per_step(self) -> Optional[float]:
        """The agent's expected cost per step at the current cadences (seconds)."""
        if self._fixed.value is None:
            return None
        c = self._fixed.value
        if self._grad_cost.value is not None:
            c += self._grad_cost.value / self.grad
        if self._block_cost.value is not None:
            c += self._block_cost.value / self.block
        return c

    def next_grad(self) -> int:
        """Steps until the next ‖g‖²: every step unless that alone would spend more than half
        of what is allowed."""
        period = self._period.value
        if period is not None and self._grad_cost.value is not None:
            self.grad = _choose(self.grad, self._grad_cost.value, 0.5 * self.fraction * period)
        return self.grad

    def next_block(self) -> int:
        """The length of the block that starts now: what ‖g‖² leaves of the budget."""
        period = self._period.value
        if period is None or self._block_cost.value is None:
            return self.block
        # The fixed part (loss, lr, the record: a few µs) is paid at every step whatever the
        # cadences; the budget is what the measurements may spend on top of it.
        left = self.fraction * period - (self._grad_cost.value or 0.0) / self.grad
        self.block = _choose(self.block, self._block_cost.value, left)
        return self.block


def _cadence_at_least(n: float) -> int:
    for c in CADENCES:
        if c >= n:
            return c
    return CADENCES[-1]


def _choose(current: int, cost: float, allowed: float) -> int:
    """The cadence for work costing ``cost`` each time, with ``allowed`` seconds per step."""
    if cost <= 0:
        return CADENCES[0]
    if allowed <= 0:
        return CADENCES[-1]
    need = cost / allowed
    if need > current:
        return _cadence_at_least(need)
    # Down only to where the work would spend at most half of what is allowed: a cost that
    # wanders around a boundary does not move the cadence back and forth.
    return min(current, _cadence_at_least(2 * need))
