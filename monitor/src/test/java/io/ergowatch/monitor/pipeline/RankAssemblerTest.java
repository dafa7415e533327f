package io.ergowatch.monitor.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.monitor.analytics.AnalyticsSettings;
import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RankAssemblerTest {
  private final RunCore core = new RunCore("r", "", Map.of(), AnalyticsSettings.defaults());
  private final RankAssembler asm = new RankAssembler(core, 1_000, 8);
  // series: loss (mean), grad_sq (sum if sharded), lr (rank 0), agent_dropped (sum), acc (user: mean)
  private final int[] mapping = {
      core.seriesIndex("loss"), core.seriesIndex("grad_sq"), core.seriesIndex("lr"),
      core.seriesIndex("agent_dropped"), core.seriesIndex("acc")};
  private final int[] ids = {0, 1, 2, 3, 4};

  private Step step(long seq, long step, double loss, double gradSq, double lr, double dropped, double acc) {
    return Step.of(seq, step, step, ids, new double[] {loss, gradSq, lr, dropped, acc});
  }

  @Test
  void singleRankPassesStraightThrough() {
    asm.accept(0, step(1, 5, 1.0, 4.0, 0.1, 0, 0.5), mapping, false, 0);
    RunSnapshot s = core.snapshot();
    assertThat(s.steps()).isEqualTo(1);
    assertThat(s.loss()).isEqualTo(1.0);
    assertThat(asm.pendingSteps()).isZero();
  }

  @Test
  void replicatedAveragesLossTakesGeometryFromRankZeroAndSumsDrops() {
    asm.configure(2, Mode.REPLICATED, 0);
    asm.accept(1, step(1, 7, 3.0, 100.0, 0.2, 5, 0.25), mapping, false, 0);
    assertThat(core.snapshot().steps()).isZero();
    asm.accept(0, step(1, 7, 1.0, 4.0, 0.1, 2, 0.75), mapping, false, 0);
    RunSnapshot s = core.snapshot();
    assertThat(s.steps()).isEqualTo(1);
    assertThat(s.loss()).isEqualTo(2.0);
    assertThat(s.series("grad_sq").last()).isEqualTo(4.0);
    assertThat(s.series("lr").last()).isEqualTo(0.1);
    assertThat(s.series("agent_dropped").last()).isEqualTo(7.0);
    assertThat(s.series("acc").last()).isEqualTo(0.5);
    assertThat(s.partialSteps()).isZero();
  }

  @Test
  void shardedSumsAdditiveGeometryOverRanks() {
    asm.configure(3, Mode.SHARDED, 0);
    for (int rank = 0; rank < 3; rank++) {
      asm.accept(rank, step(1, 1, 1.0 + rank, 1.0 + rank, 0.1, 0, 0), mapping, false, 0);
    }
    RunSnapshot s = core.snapshot();
    assertThat(s.series("grad_sq").last()).isEqualTo(6.0);
    assertThat(s.loss()).isEqualTo(2.0);
  }

  @Test
  void aStepMissingARankIsProcessedAsPartialAfterTheGracePeriod() {
    asm.configure(2, Mode.SHARDED, 0);
    asm.accept(0, step(1, 1, 1.0, 4.0, 0.1, 0, 0), mapping, false, 100);
    asm.tick(1_099);
    assertThat(core.snapshot().steps()).isZero();
    asm.tick(1_100);
    RunSnapshot s = core.snapshot();
    assertThat(s.steps()).isEqualTo(1);
    assertThat(s.partialSteps()).isEqualTo(1);
    assertThat(s.series("grad_sq").last()).isEqualTo(4.0);
  }

  @Test
  void pendingStepsAreBoundedByFlushingTheOldestAsPartial() {
    asm.configure(2, Mode.REPLICATED, 0);
    for (long st = 0; st < 20; st++) {
      asm.accept(0, step(st + 1, st, 1.0, 1.0, 0.1, 0, 0), mapping, false, 0);
    }
    assertThat(asm.pendingSteps()).isEqualTo(8);
    assertThat(core.snapshot().partialSteps()).isEqualTo(12);
    assertThat(core.snapshot().lastStep()).isEqualTo(11);
  }

  @Test
  void replicatedGeometryIsOmittedWhenRankZeroIsMissing() {
    asm.configure(2, Mode.REPLICATED, 0);
    asm.accept(1, step(1, 1, 1.0, 4.0, 0.1, 0, 0), mapping, false, 0);
    asm.flushAll(0);
    RunSnapshot s = core.snapshot();
    assertThat(s.loss()).isEqualTo(1.0);
    assertThat(s.series("grad_sq").count()).isZero();
  }
}
