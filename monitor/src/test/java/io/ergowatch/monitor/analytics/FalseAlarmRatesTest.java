package io.ergowatch.monitor.analytics;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.sim.GradientDescent;
import io.ergowatch.sim.Objective;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** False-alarm rates of math.md §5, measured over many seeds and bounded. */
class FalseAlarmRatesTest {

  @Test
  void aSmallButRealTrendIsRarelyCalledStationary() {
    // math.md §5: a downward trend of delta = 0.05 per window with relative noise sd 0.02:
    // "loss stationary" in <= 5% of evaluations. The window is W = 200 here (iid noise, tau ~ 1),
    // so the loss falls by 5% of its level every 200 records.
    long evaluations = 0;
    long stationary = 0;
    for (long seed = 1; seed <= 40; seed++) {
      RunCore core = Simulations.core(Map.of());
      int loss = core.seriesIndex("loss");
      SplittableRandom rng = new SplittableRandom(seed);
      StepRecord r = new StepRecord(2);
      double level = 1.0;
      long lastEval = 0;
      for (int t = 0; t < 3000; t++) {
        level *= 1 - 0.05 / 200;
        core.onRecord(r.reset(t, t).put(loss, level * (1 + 0.02 * rng.nextGaussian())), t);
        RunStatistics s = t % 20 == 19 ? core.snapshot().statistics() : null;
        if (s != null && s.evaluations() > lastEval) {
          lastEval = s.evaluations();
          evaluations++;
          stationary += s.lossStationary() ? 1 : 0;
        }
      }
    }
    double rate = (double) stationary / evaluations;
    System.out.printf("stationary on a delta = 0.05 trend: %d of %d evaluations (%.4f)%n", stationary, evaluations, rate);
    assertThat(rate).isLessThanOrEqualTo(0.05);
  }

  @Test
  void iidUpdatesAreAlmostNeverCalledOscillating() {
    // math.md §5: "oscillating" on iid updates <= 1%. SGD at a tiny step on a flat objective: the
    // updates are the gradient noise, independent from step to step.
    long evaluations = 0;
    long oscillating = 0;
    for (long seed = 1; seed <= 20; seed++) {
      GradientDescent noise = new GradientDescent(Objective.quadratic(Simulations.fill(10, 1e-9)), Simulations.fill(10, 0),
          0.01, 1, 1, 0, 200, seed);
      Simulations.Outcome o = Simulations.run(noise, 5000);
      for (RunState st : o.states().subList(3, o.states().size())) {
        evaluations++;
        oscillating += st == RunState.OSCILLATING ? 1 : 0;
      }
    }
    double rate = (double) oscillating / evaluations;
    System.out.printf("oscillating on iid updates: %d of %d samples (%.4f)%n", oscillating, evaluations, rate);
    assertThat(rate).isLessThanOrEqualTo(0.01);
  }
}
