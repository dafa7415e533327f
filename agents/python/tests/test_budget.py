"""The cost budget (ergowatch/budget.py): cadences chosen from measured costs, odd block
lengths capped at max_block, no flapping around a boundary, robust to a measurement that
something else inflated. Pure: no torch, no clock."""

import unittest

import support  # noqa: F401  (puts the package on the path)
from ergowatch.budget import CADENCES, MAX_BLOCK, Budget  # noqa: E402


def feed(budget, period, grad, block, steps):
    """Drives ``budget`` as the watcher does: one step() per ``period`` seconds, ‖g‖² at its
    cadence and at every block start, a block start costing ``block`` seconds (a callable of
    the block's index, or a number) at each block's first step. Returns the block lengths."""
    t = 0.0
    next_grad = next_block = 0
    blocks = []
    for s in range(steps):
        budget.step_started(t)
        t += period
        if s >= next_grad or s >= next_block:
            budget.grad_spent(grad)
            next_grad = s + budget.next_grad()
        if s >= next_block:
            budget.block_spent(block(len(blocks)) if callable(block) else block)
            k = budget.next_block()
            blocks.append(k)
            next_block = s + k
    return blocks


class BudgetTest(unittest.TestCase):
    def test_cadences_are_odd_so_a_period_two_orbit_stays_visible(self):
        self.assertTrue(all(c % 2 == 1 for c in CADENCES))
        self.assertEqual(CADENCES[0], 1)
        self.assertIn(MAX_BLOCK, CADENCES)

    def test_a_cheap_geometry_runs_every_step(self):
        b = Budget(0.01)
        blocks = feed(b, period=1.0, grad=1e-4, block=1e-3, steps=50)
        self.assertEqual(set(blocks[2:]), {1})
        self.assertEqual(b.grad, 1)

    def test_an_expensive_geometry_is_spread_to_fit_the_budget(self):
        # A 10 ms step whose block start costs 0.5 ms and |g|^2 10 µs: 0.5 / (0.1 - 0.01) = 5.6 -> 9.
        b = Budget(0.01)
        feed(b, period=1e-2, grad=1e-5, block=5e-4, steps=3000)
        self.assertEqual(b.grad, 1)
        self.assertEqual(b.block, 9)
        self.assertLessEqual(b.cost_per_step, 0.01 * 1e-2)

    def test_blocks_stop_at_max_block_and_the_gradient_norm_is_thinned_only_when_it_alone_is_too_dear(self):
        # The 1.9M MLP on one CPU thread: a 6.4 ms step, |g|^2 0.28 ms, a block start 3.5 ms.
        b = Budget(0.01)
        feed(b, period=6.4e-3, grad=2.8e-4, block=3.5e-3, steps=5000)
        self.assertEqual(b.grad, 9)  # 0.28 ms / 9 <= half of 64 µs
        self.assertEqual(b.block, MAX_BLOCK)  # 65 would fit the budget; Π needs short blocks
        wide = Budget(0.01, max_block=1000)
        feed(wide, period=6.4e-3, grad=2.8e-4, block=3.5e-3, steps=5000)
        self.assertEqual(wide.block, 129)  # what 1% leaves after |g|^2: 3.5 ms / (64 - 31) µs = 106 -> 129
        self.assertLessEqual(wide.cost_per_step, 0.01 * 6.4e-3)

    def test_the_first_block_start_and_rare_inflated_ones_do_not_set_the_cadence(self):
        # The first block start allocates (dropped); the second touches fresh buffers (3x); then
        # one in seven is slowed by something else on the core. The cost is the work itself.
        def cost(i):
            return 5e-2 if i == 0 else 3e-3 if i == 1 else 3e-3 if i % 7 == 3 else 1e-3

        b = Budget(0.01, max_block=1025)
        feed(b, period=1e-2, grad=1e-7, block=cost, steps=3000)
        self.assertAlmostEqual(b.block_cost, 1e-3)
        self.assertEqual(b.block, 17)  # 1 ms / 0.1 ms = 10 -> 17

    def test_the_cadence_does_not_flap_when_the_cost_wanders_around_a_boundary(self):
        b = Budget(0.01, max_block=1025)
        t = 0.0
        chosen = []
        for s in range(4000):
            b.step_started(t)
            t += 1e-3
            b.grad_spent(1e-7)
            b.next_grad()
            # Block cost alternating 5% around the point where 17 and 33 meet.
            b.block_spent(17e-5 * (1.05 if s % 2 else 0.95))
            chosen.append(b.next_block())
        changes = sum(1 for a, c in zip(chosen[100:], chosen[101:]) if a != c)
        self.assertEqual(changes, 0)

    def test_the_cadence_comes_down_when_steps_get_slower(self):
        b = Budget(0.01)
        feed(b, period=1e-3, grad=1e-7, block=1e-3, steps=2000)
        self.assertEqual(b.block, MAX_BLOCK)
        feed(b, period=1.0, grad=1e-7, block=1e-3, steps=200)
        self.assertEqual(b.block, 1)

    def test_bad_settings_are_refused(self):
        for bad in (0, 1, -0.1, 2):
            with self.assertRaisesRegex(ValueError, "budget"):
                Budget(bad)
        for bad in (0, 2.5):
            with self.assertRaisesRegex(ValueError, "max_block"):
                Budget(0.01, max_block=bad)


if __name__ == "__main__":
    unittest.main()
