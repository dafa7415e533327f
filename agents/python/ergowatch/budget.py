"""The agent's cost budget: how often the geometry runs so that watching costs what was allowed.

The watcher tells a :class:`Budget` when each ``step()`` starts (the training step's period)
and what its measurements cost: ‖g‖² and each geometry block start. The budget (a fraction of
the step time) is what they may spend per step; the fixed part of ``step()`` (loss, lr, the
record: a few µs) is paid at every step whatever the cadences. It chooses two cadences:

- ``block``: steps per geometry block, from :data:`CADENCES` up to ``max_block``. Odd, so that
  a period-2 orbit still shows in the block updates (w_{t+k} - w_t of an orbit flipping every
  step is the flip itself when k is odd; it would be 0 for even k): κ and R2 keep their meaning
  on the block chain. Capped because Π over long blocks is a different test (measured on the
  digits MLP with weight decay, agents/python/README.md): a block's update averages out the
  fast directions, so Σ‖u‖² is carried by the slow ones, which an EMA centre of a 1 000-step
  horizon reads as drift. Π was 1.03 ± 0.015 over blocks of 9 steps (stalled at step 9 179; every
  step: 8 079), 1.09 ± 0.035 over 17, and its denominator negative over 33.
- ``grad``: steps between two ‖g‖² where even one dot product over the gradients costs more
  than half the budget (one read of g is 3% of a step of a 1.9M-parameter MLP at batch 64 on
  one CPU thread); 1 everywhere else. A block start always measures ‖g‖².

Costs are the least of the last :data:`_COST_SAMPLES` measurements: the work is the same every
time, and what a measurement adds to it (a first touch of fresh buffers, another process on the
core) only ever adds, so the least is the work itself. (A moving average of such outliers held
the cadence far too high for hundreds of steps: 11 ms estimated for a 4 ms block start.) The
first block start, which allocates, is not counted. A cadence goes up as soon as the budget is
exceeded and comes down only as far as the work would then spend at most 80% of what is
allowed: it does not flap between neighbours.

Pure: the caller passes the clock readings (seconds).
"""

from collections import deque
from typing import Optional

__all__ = ["Budget", "CADENCES", "MAX_BLOCK"]

CADENCES = (1, 3, 5, 9, 17, 33, 65, 129, 257, 513, 1025)
"""Steps per block (2^j + 1: odd, about doubling)."""

MAX_BLOCK = 9
"""The longest block the budget chooses by default (see the module's text)."""

_SMOOTHING = 0.25  # weight of a new step period in its moving average
_COST_SAMPLES = 5  # measurements a cost is the least of
_DOWN_MARGIN = 1.25  # a shorter cadence must leave this much of what is allowed unspent


class _Cost:
    """The cost of a piece of work: the least of its last few measurements."""

    def __init__(self, skip_first: bool) -> None:
        self._samples: deque = deque(maxlen=_COST_SAMPLES)
        self._skip = skip_first

    def add(self, seconds: float) -> None:
        if self._skip:
            self._skip = False
        else:
            self._samples.append(max(seconds, 0.0))

    @property
    def value(self) -> Optional[float]:
        return min(self._samples) if self._samples else None


class Budget:
    """Chooses the geometry's block length and the gradient norm's cadence under a cost budget.

    Args:
        fraction: the share of step time the measurements may spend (0.01: 1%).
        block: the first block's length (1: measure the cost on the first steps).
        max_block: the longest block (rounded down to a cadence).
    """

    def __init__(self, fraction: float = 0.01, block: int = 1, max_block: int = MAX_BLOCK):
        if not 0 < fraction < 1:
            raise ValueError(f"budget must be a fraction of step time within (0, 1), got {fraction}")
        if int(max_block) != max_block or max_block < 1:
            raise ValueError(f"max_block must be an integer >= 1, got {max_block}")
        self.fraction = float(fraction)
        self.max_block = max(c for c in CADENCES if c <= max_block)
        self.block = min(_cadence_at_least(block), self.max_block)
        self.grad = 1
        self._period: Optional[float] = None
        self._grad_cost = _Cost(skip_first=True)
        self._block_cost = _Cost(skip_first=True)  # the first block start allocates its buffers
        self._last_start: Optional[float] = None

    # ---- measurements ----------------------------------------------------------------

    def step_started(self, now: float) -> None:
        """A training step's ``watch.step()`` began at ``now``: the period between two is the step time."""
        if self._last_start is not None and now > self._last_start:
            x = now - self._last_start
            self._period = x if self._period is None else self._period + _SMOOTHING * (x - self._period)
        self._last_start = now

    def grad_spent(self, seconds: float) -> None:
        """The cost of one ‖g‖²."""
        self._grad_cost.add(seconds)

    def block_spent(self, seconds: float) -> None:
        """The cost of one block start (on an accelerator: its device time, known a step or more later)."""
        self._block_cost.add(seconds)

    # ---- decisions -------------------------------------------------------------------

    @property
    def step_time(self) -> Optional[float]:
        return self._period

    @property
    def grad_cost(self) -> Optional[float]:
        """The estimated cost of one ‖g‖² (seconds), or None before it was measured."""
        return self._grad_cost.value

    @property
    def block_cost(self) -> Optional[float]:
        """The estimated cost of one block start (seconds), or None before it was measured."""
        return self._block_cost.value

    @property
    def cost_per_step(self) -> Optional[float]:
        """The measurements' expected cost per step at the current cadences (seconds)."""
        grad, block = self.grad_cost, self.block_cost
        if grad is None and block is None:
            return None
        return (grad or 0.0) / self.grad + (block or 0.0) / self.block

    def next_grad(self) -> int:
        """Steps until the next ‖g‖²: every step unless that alone would spend more than half
        of what is allowed."""
        period, cost = self._period, self.grad_cost
        if period is not None and cost is not None:
            self.grad = _choose(self.grad, cost, 0.5 * self.fraction * period, CADENCES[-1])
        return self.grad

    def next_block(self) -> int:
        """The length of the block that starts now: what ‖g‖² leaves of the budget, at most
        ``max_block``."""
        period, cost = self._period, self.block_cost
        if period is None or cost is None:
            return self.block
        left = self.fraction * period - (self.grad_cost or 0.0) / self.grad
        self.block = _choose(self.block, cost, left, self.max_block)
        return self.block


def _cadence_at_least(n: float) -> int:
    for c in CADENCES:
        if c >= n:
            return c
    return CADENCES[-1]


def _choose(current: int, cost: float, allowed: float, longest: int) -> int:
    """The cadence (at most ``longest``) for work costing ``cost`` each time, with ``allowed``
    seconds per step."""
    if cost <= 0:
        return CADENCES[0]
    if allowed <= 0:
        return longest
    need = cost / allowed
    if need > current:
        return min(_cadence_at_least(need), longest)
    # Down only to where the work would spend at most 80% of what is allowed: a cost that
    # wanders around a boundary does not move the cadence back and forth.
    return min(current, _cadence_at_least(_DOWN_MARGIN * need), longest)
