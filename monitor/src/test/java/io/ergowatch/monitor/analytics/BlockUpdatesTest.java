package io.ergowatch.monitor.analytics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Geometry measured over blocks of k steps (docs/protocol.md, "Blocks"), as the agents send it
 * under their cost budget: the record of a block's first step t carries u = w_{t+k} − w_t and
 * {@code update_steps} = k, the centre moves once per block, loss, lr and grad_sq come every
 * step. The monitor's Π over blocks must read a stall as stationary (math.md §6.4: Π = 1) just
 * as it does with one-step updates, with and without momentum.
 */
class BlockUpdatesTest {
  private static final List<String> SERIES = List.of("loss", "lr", "grad_sq", "weight_sq", "update_sq",
      "update_dot_prev", "ema_grad_dot", "ema_dist_sq", "ema_update_dot", "update_steps");

  @ParameterizedTest(name = "k = {0}, momentum {1}")
  @CsvSource({"1, 0", "9, 0", "33, 0", "9, 0.9", "33, 0.9"})
  void piOverBlocksReadsAStallAsStationary(int k, double beta) {
    double median = medianPi(t -> k, beta, 40_000, 1);
    assertThat(median).isCloseTo(1, within(0.1));
  }

  /** The Python agent's budget lengthens its blocks as it learns their cost: 1, then 9, then 33. */
  @Test
  void piStaysRightWhenTheBlockLengthChangesMidRun() {
    double median = medianPi(t -> t < 2_000 ? 1 : t < 10_000 ? 9 : 33, 0, 40_000, 2);
    assertThat(median).isCloseTo(1, within(0.1));
  }

  /** SGD (heavy ball when beta > 0) on ½ Σ h_i w_i² with gradient noise N(0, σ²): a stall. */
  private static double medianPi(java.util.function.LongToIntFunction blockAt, double beta, int steps, long seed) {
    int d = 20;
    double eta = 0.05;
    double a = 0.01;
    double[] h = new double[d];
    for (int i = 0; i < d; i++) {
      h[i] = 0.5 + i * 0.1;
    }
    Map<String, String> labels = beta > 0
        ? Map.of("optimizer", "sgd", "momentum", Double.toString(beta), "ema_alpha", Double.toString(a))
        : Map.of("optimizer", "sgd", "ema_alpha", Double.toString(a));
    RunCore core = new RunCore("blocks", "", labels, AnalyticsSettings.defaults());
    int[] idx = SERIES.stream().mapToInt(core::seriesIndex).toArray();
    Random rnd = new Random(seed);
    double[] w = new double[d];
    Arrays.fill(w, 1);
    double[] vel = new double[d];
    double[] g = new double[d];
    double[] start = null;
    double[] c = null;
    double[] prevU = null;
    long nextBlock = 0;
    int k = 0;
    List<double[]> held = new ArrayList<>(); // records of the open block: [step, loss, grad_sq, then block series]
    List<Double> pis = new ArrayList<>();
    StepRecord r = new StepRecord(idx.length);
    for (int t = 0; t < steps; t++) {
      double loss = 0;
      double gsq = 0;
      for (int i = 0; i < d; i++) {
        loss += 0.5 * h[i] * w[i] * w[i];
        g[i] = h[i] * w[i] + 0.3 * rnd.nextGaussian();
        gsq += g[i] * g[i];
      }
      double[] rec = new double[SERIES.size() + 1];
      Arrays.fill(rec, Double.NaN);
      rec[0] = t;
      rec[1 + 0] = loss;
      rec[1 + 1] = eta;
      rec[1 + 2] = gsq;
      if (t == nextBlock) {
        if (start != null) {
          double[] u = new double[d];
          double uu = 0;
          double ue = 0;
          double up = 0;
          for (int i = 0; i < d; i++) {
            u[i] = w[i] - start[i];
            uu += u[i] * u[i];
            ue += u[i] * (start[i] - c[i]);
            up += prevU == null ? 0 : u[i] * prevU[i];
          }
          double[] first = held.get(0);
          first[1 + 4] = uu;
          first[1 + 8] = ue;
          first[1 + 9] = k;
          if (prevU != null) {
            first[1 + 5] = up;
          }
          double ak = RecordGeometry.blockRate(a, k); // a is per step (the HELLO label)
          for (int i = 0; i < d; i++) {
            c[i] += ak * (start[i] - c[i]);
          }
          prevU = u;
          for (double[] h0 : held) {
            feed(core, r, idx, h0);
            if ((long) h0[0] % 100 == 99) {
              pis.add(core.snapshot().statistics().stationarityRatio());
            }
          }
          held.clear();
        } else {
          c = w.clone();
        }
        start = w.clone();
        k = blockAt.applyAsInt(t);
        nextBlock = t + k;
        double ws = 0;
        double eg = 0;
        double ee = 0;
        for (int i = 0; i < d; i++) {
          ws += w[i] * w[i];
          eg += g[i] * (w[i] - c[i]);
          ee += (w[i] - c[i]) * (w[i] - c[i]);
        }
        rec[1 + 3] = ws;
        rec[1 + 6] = eg;
        rec[1 + 7] = ee;
      }
      held.add(rec);
      for (int i = 0; i < d; i++) {
        vel[i] = beta * vel[i] - eta * g[i];
        w[i] += vel[i];
      }
    }
    double[] v = pis.stream().skip(pis.size() / 4).filter(Double::isFinite).mapToDouble(Double::doubleValue)
        .sorted().toArray();
    assertThat(v).as("evaluations with Π").hasSizeGreaterThan(10);
    return v[v.length / 2];
  }

  private static void feed(RunCore core, StepRecord r, int[] idx, double[] rec) {
    long t = (long) rec[0];
    r.reset(t, t);
    for (int i = 0; i < idx.length; i++) {
      if (!Double.isNaN(rec[1 + i])) {
        r.put(idx[i], rec[1 + i]);
      }
    }
    core.onRecord(r, t);
  }
}
