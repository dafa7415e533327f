package io.ergowatch.monitor.analytics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RunCoreTest {
  private final RunCore core = new RunCore("r1", "j", Map.of("optimizer", "sgd"), AnalyticsSettings.defaults());
  private final int loss = core.seriesIndex("loss");
  private final int gradSq = core.seriesIndex("grad_sq");
  private final int lr = core.seriesIndex("lr");
  private final StepRecord rec = new StepRecord(4);

  private void feed(long step, double l, double g, double eta) {
    core.onRecord(rec.reset(step, step * 1000).put(loss, l).put(gradSq, g).put(lr, eta), step);
  }

  @Test
  void keepsLastValuesStepsAndGradNorm() {
    feed(0, 2.0, 9.0, 0.1);
    feed(1, 1.5, 16.0, 0.1);
    RunSnapshot s = core.snapshot();
    assertThat(s.steps()).isEqualTo(2);
    assertThat(s.lastStep()).isEqualTo(1);
    assertThat(s.loss()).isEqualTo(1.5);
    assertThat(s.gradNorm()).isEqualTo(4.0);
    assertThat(s.learningRate()).isEqualTo(0.1);
    assertThat(s.lastRecordTimeNanos()).isEqualTo(1000);
    assertThat(s.labels()).containsEntry("optimizer", "sgd");
  }

  @Test
  void ergodicMeanIsTheMeanOfFiniteValuesSinceBurnIn() {
    for (int t = 0; t < 10; t++) {
      feed(t, t, 1.0, 0.1); // mean of 0..9 = 4.5
    }
    assertThat(core.snapshot().series("loss").ergodicMean()).isCloseTo(4.5, within(1e-12));
  }

  @Test
  void learningRateChangeAboveTenPercentRestartsTheErgodicMean() {
    for (int t = 0; t < 10; t++) {
      feed(t, 100.0, 1.0, 0.1);
    }
    feed(10, 5.0, 1.0, 0.105); // +5%: same burn-in
    assertThat(core.snapshot().series("loss").ergodicCount()).isEqualTo(11);
    feed(11, 3.0, 1.0, 0.05); // -52% vs 0.1: restart here
    feed(12, 1.0, 1.0, 0.05);
    RunSnapshot s = core.snapshot();
    assertThat(s.burnInStep()).isEqualTo(11);
    assertThat(s.series("loss").ergodicMean()).isEqualTo(2.0);
    assertThat(s.series("loss").count()).isEqualTo(13);
  }

  @Test
  void warmupEndsWithTheFirstConclusiveWindow() {
    // A constant loss with a gradient that never shrinks and no update series: stationary loss,
    // weights unobserved -> STALLED_NONSTATIONARY (math.md §5), entered with the first window
    // (records 1-200, evaluated at record 200): leaving WARMUP needs one window.
    for (int t = 0; t < 199; t++) {
      feed(t, 1.0, 1.0, 0.1);
    }
    assertThat(core.state()).isEqualTo(RunState.WARMUP);
    feed(199, 1.0, 1.0, 0.1);
    assertThat(core.state()).isEqualTo(RunState.STALLED_NONSTATIONARY);
    assertThat(core.snapshot().events()).singleElement()
        .satisfies(e -> assertThat(e.from()).isEqualTo(RunState.WARMUP));
    assertThat(core.snapshot().why()).anyMatch(w -> w.startsWith("weights: unobserved"));
  }

  /**
   * A state kept by hysteresis while the latest window points elsewhere says so: the evidence it
   * was entered on, then what the latest window says, never today's numbers dressed as its cause.
   */
  @Test
  void aKeptStateGivesTheEvidenceItWasEnteredOnAndWhatTheLatestWindowSays() {
    for (int t = 0; t < 200; t++) {
      feed(t, 1.0, 1.0, 0.1);
    }
    assertThat(core.state()).isEqualTo(RunState.STALLED_NONSTATIONARY);
    for (int t = 200; t < 420; t++) {
      feed(t, Math.exp(-(t - 199) / 50.0), 1.0, 0.1); // falls steadily: the next windows say progressing
    }
    assertThat(core.state()).as("leaving a stall needs 3 disjoint windows").isEqualTo(RunState.STALLED_NONSTATIONARY);
    java.util.List<String> why = core.snapshot().why();
    assertThat(why.get(0)).isEqualTo("stalled_nonstationary since step 199, on this evidence:");
    assertThat(why).contains(core.snapshot().events().get(0).why().toArray(new String[0]));
    // The window that spans the constant and the falling part cannot tell (W follows the detrended
    // autocorrelation time, so it reaches back into the plateau): inconclusive keeps the state.
    assertThat(why).contains("latest window (420 records to step 419): inconclusive, which keeps the state");
    assertThat(why.get(why.size() - 1)).isEqualTo("a change needs 3 disjoint windows in a row that agree");
    assertThat(why).noneMatch(w -> w.startsWith("loss stationary over")); // no current numbers as its cause
  }

  @Test
  void nonFiniteLossDivergesAtOnceEvenInWarmupAndStays() {
    feed(0, 1.0, 1.0, 0.1);
    feed(1, Double.NaN, 1.0, 0.1);
    assertThat(core.state()).isEqualTo(RunState.DIVERGED);
    assertThat(core.snapshot().why()).containsExactly("loss is NaN at step 1");
    for (int t = 2; t < 500; t++) {
      feed(t, 1.0, 1.0, 0.1);
    }
    assertThat(core.state()).isEqualTo(RunState.DIVERGED);
    assertThat(core.snapshot().series("loss").nonfinite()).isEqualTo(1);
    assertThat(core.snapshot().series("loss").ergodicMean()).isEqualTo(1.0);
  }

  @Test
  void infiniteGradientDiverges() {
    feed(0, 1.0, Double.POSITIVE_INFINITY, 0.1);
    assertThat(core.state()).isEqualTo(RunState.DIVERGED);
    assertThat(core.snapshot().gradNorm()).isEqualTo(Double.POSITIVE_INFINITY);
  }

  @Test
  void aLossThatKeepsRisingDivergesAndRecoveryLeavesIt() {
    // 400 steps at loss 1 (evaluated windows with median 1 and max 1: reference max(10 x 1, 2 x 1) =
    // 10), then the loss grows 1% per step: its 50-step block medians rise 64% from block to block,
    // and the last one passes 10 when the loss does at the block's middle (1.01^231 = 10, so about
    // 256 steps after the onset); two checks 20 steps apart -> DIVERGED 256..300 steps after it.
    long fired = -1;
    double loss = 1;
    for (int t = 0; t < 1000 && fired < 0; t++) {
      if (t >= 400) {
        loss *= 1.01;
      }
      feed(t, loss, 1.0, 0.1);
      if (core.state() == RunState.DIVERGED) {
        fired = t;
      }
    }
    assertThat(fired - 400).isBetween(256L, 300L);
    assertThat(core.snapshot().why().get(0)).startsWith("loss blown up: median of the last 50 losses");
    // The loss comes back: once the median is below the reference the evidence is gone and the run
    // leaves DIVERGED (a rule-based DIVERGED is not absorbing, math.md §5).
    for (long t = fired + 1; t < fired + 200; t++) {
      feed(t, 1.0, 1.0, 0.1);
    }
    assertThat(core.state()).isNotEqualTo(RunState.DIVERGED);
    assertThat(core.snapshot().events()).anyMatch(e -> e.from() == RunState.DIVERGED
        && e.why().get(0).startsWith("recovered: median of the last 50 losses 1 is back below 10"));
  }

  @Test
  void aLossThatJumpsToAPlateauIsNotDivergedByTheRule() {
    // A jump from 1 to 20 that stays flat does not rise block after block: the rule needs a
    // divergence, not a level change (that is a spike event that has not come back).
    for (int t = 0; t < 3000; t++) {
      feed(t, t < 400 ? 1.0 : 20.0, 1.0, 0.1);
    }
    assertThat(core.snapshot().events()).noneMatch(e -> e.to() == RunState.DIVERGED);
  }

  @Test
  void aStableNoisyLossNeverDiverges() {
    java.util.SplittableRandom rng = new java.util.SplittableRandom(7);
    for (int t = 0; t < 5000; t++) {
      feed(t, 1.0 + 0.5 * rng.nextDouble(), 1.0, 0.1);
    }
    assertThat(core.state()).isNotEqualTo(RunState.DIVERGED);
  }

  @Test
  void silentAfterTheTimeoutAndExpiresAfterRetention() {
    feed(0, 1.0, 1.0, 0.1); // received at t=0
    core.onTick(50, 100);
    assertThat(core.status()).isEqualTo(RunStatus.LIVE);
    core.onTick(101, 100);
    assertThat(core.status()).isEqualTo(RunStatus.SILENT);
    assertThat(core.expired(500, 1000)).isFalse();
    assertThat(core.expired(1001, 1000)).isTrue();
    feed(1, 1.0, 1.0, 0.1);
    assertThat(core.status()).isEqualTo(RunStatus.LIVE);
  }

  @Test
  void finishedKeepsTheVerdict() {
    feed(0, Double.NaN, 1.0, 0.1);
    core.onFinished("failed", "OOM", 5);
    RunSnapshot s = core.snapshot();
    assertThat(s.status()).isEqualTo(RunStatus.FINISHED);
    assertThat(s.state()).isEqualTo(RunState.DIVERGED);
    assertThat(s.endMessage()).isEqualTo("OOM");
  }
}
