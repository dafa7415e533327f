"""The cost budget (ergowatch/budget.py): cadences chosen from measured costs, odd block
lengths, no flapping around a boundary. Pure: no torch, no clock."""

import unittest

import support  # noqa: F401  (puts the package on the path)
from ergowatch.budget import CADENCES, Budget  # noqa: E402


def feed(budget, period, fixed, grad, block, steps):
    """Drives ``budget`` as the watcher does: one step() per ``period`` seconds, ‖g‖² at its
    cadence, a block start at each block's first step. Returns the block lengths chosen."""
    t = 0.0
    next_grad = next_block = 0
    blocks = []
    for s in range(steps):
        budget.step_started(t)
        t += period
        g = None
        if s >= next_grad or s >= next_block:
            g = grad
        budget.spent(fixed, g)
        if g is not None:
            next_grad = s + budget.next_grad()
        if s >= next_block:
            budget.block_spent(block)
            k = budget.next_block()
            blocks.append(k)
            next_block = s + k
    return blocks


class BudgetTest(unittest.TestCase):
    def test_cadences_are_odd_so_a_period_two_orbit_stays_visible(self):
        self.assertTrue(all(c % 2 == 1 for c in CADENCES))
        self.assertEqual(CADENCES[0], 1)

    def test_a_cheap_geometry_runs_every_step(self):
        b = Budget(0.01)
        blocks = feed(b, period=1.0, fixed=1e-4, grad=1e-4, block=1e-3, steps=50)
        self.assertEqual(set(blocks[2:]), {1})
        self.assertEqual(b.grad, 1)

    def test_an_expensive_geometry_is_spread_to_fit_the_budget(self):
        # A 6.4 ms step whose block start costs 3.5 ms and ‖g‖² 0.28 ms (the 1.9M MLP, CPU).
        b = Budget(0.01)
        feed(b, period=6.4e-3, fixed=1e-5, grad=2.8e-4, block=3.5e-3, steps=5000)
        self.assertEqual(b.grad, 9)  # 0.28 ms / 9 <= half of 64 µs
        self.assertEqual(b.block, 129)
        self.assertLessEqual(b.cost_per_step - 1e-5, 0.01 * 6.4e-3)

    def test_the_cadence_does_not_flap_when_the_cost_wanders_around_a_boundary(self):
        b = Budget(0.01)
        t = 0.0
        chosen = []
        for s in range(4000):
            b.step_started(t)
            t += 1e-3
            b.spent(0.0, 1e-7)
            b.next_grad()
            # Block cost alternating 5% around the point where 17 and 33 meet.
            b.block_spent(17e-5 * (1.05 if s % 2 else 0.95))
            chosen.append(b.next_block())
        changes = sum(1 for a, c in zip(chosen[100:], chosen[101:]) if a != c)
        self.assertEqual(changes, 0)

    def test_the_cadence_comes_down_when_steps_get_slower(self):
        b = Budget(0.01)
        feed(b, period=1e-3, fixed=0.0, grad=1e-7, block=1e-3, steps=2000)
        self.assertEqual(b.block, 129)
        feed(b, period=1.0, fixed=0.0, grad=1e-7, block=1e-3, steps=200)
        self.assertEqual(b.block, 1)

    def test_a_bad_fraction_is_refused(self):
        for bad in (0, 1, -0.1, 2):
            with self.assertRaisesRegex(ValueError, "budget"):
                Budget(bad)


if __name__ == "__main__":
    unittest.main()
