package io.ergowatch.dl4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The pure maths, on hand-made ND4J vectors split into segments; no network. */
class GeometryAccumulatorTest {

  private static List<INDArray> segments(double[] v, int... cuts) {
    List<INDArray> out = new ArrayList<>();
    int from = 0;
    for (int cut : cuts) {
      out.add(Nd4j.create(java.util.Arrays.copyOfRange(v, from, cut), new long[] {cut - from}, DataType.DOUBLE));
      from = cut;
    }
    out.add(Nd4j.create(java.util.Arrays.copyOfRange(v, from, v.length), new long[] {v.length - from},
        DataType.DOUBLE));
    return out;
  }

  private static StepRecord record(Level level, int projections) {
    return new StepRecord(ErgowatchListener.seriesNames(level, projections));
  }

  /** A worked example small enough to do by hand: w = (3, 4), g = (1, 0), SGD with η = 0.5. */
  @Test
  void handWorkedSgdSteps() {
    StepRecord r = record(Level.STANDARD, 0);
    GeometryAccumulator acc = new GeometryAccumulator(Level.STANDARD, 1, 2, 0, 0, 1, 1, r);
    List<INDArray> w = segments(new double[] {3, 4}, 1);
    acc.gradient(0, w, segments(new double[] {2, 0}, 1), 0.5, r); // raw (2, 0) over a batch of 2
    assertThat(r.get("grad_sq")).isEqualTo(1.0);
    assertThat(r.get("weight_sq")).isEqualTo(25.0);
    assertThat(r.get("nonfinite")).isZero();
    assertThat(r.get("ema_dist_sq")).isZero(); // c starts at w_0
    // the optimizer subtracts s = η g = (0.5, 0): w_1 = (2.5, 4)
    acc.update(0, segments(new double[] {2.5, 4}, 1), segments(new double[] {0.5, 0}, 1), r);
    assertThat(r.get("update_sq")).isEqualTo(0.25);
    assertThat(r.get("grad_dot_update")).isEqualTo(-0.5);
    assertThat(r.has("update_dot_prev")).isFalse();
    assertThat(r.get("ema_update_dot")).isZero();
    r.clear();
    // step 1: c = w_0 + 0.5 (w_0 - w_0) = (3, 4); w_1 - c = (-0.5, 0); g = (1, 1)
    acc.gradient(1, segments(new double[] {2.5, 4}, 1), segments(new double[] {2, 2}, 1), 0.5, r);
    assertThat(r.get("ema_dist_sq")).isEqualTo(0.25);
    assertThat(r.get("ema_grad_dot")).isEqualTo(-0.5);
    acc.update(1, segments(new double[] {2.0, 3.5}, 1), segments(new double[] {0.5, 0.5}, 1), r);
    assertThat(r.get("update_dot_prev")).isEqualTo(0.25); // (-0.5,-0.5)·(-0.5,0)
    assertThat(r.get("ema_update_dot")).isEqualTo(0.25);  // (-0.5,-0.5)·(-0.5,0)
    r.clear();
    // step 2: c = (3,4) + 0.5((2.5,4) - (3,4)) = (2.75, 4); w_2 - c = (-0.75, -0.5)
    acc.gradient(2, segments(new double[] {2.0, 3.5}, 1), segments(new double[] {0, 0}, 1), 0.5, r);
    assertThat(r.get("ema_dist_sq")).isCloseTo(0.5625 + 0.25, within(1e-15));
  }

  /**
   * math.md §2: with RSI = μ and EB = L at every step and η = μ / L², the distance to a fixed c
   * contracts by 1 − μ²/L²: μ = 0.1, L = 1, η = 0.1, 4 steps → 0.96059601. The centre is held
   * fixed by an enormous EMA horizon; the ratio is computed from the sent series only.
   */
  @Test
  void contractionTowardAFixedCentre() {
    double mu = 0.1;
    double l = 1.0;
    double eta = mu / (l * l);
    StepRecord r = record(Level.STANDARD, 0);
    GeometryAccumulator acc = new GeometryAccumulator(Level.STANDARD, 1, 1e15, 0, 0, 1, 1, r);
    double[] c = {1.0, -2.0, 0.5};
    double[] w = c.clone();
    // step 0 puts the centre at c (its update moves nothing: g = 0)
    acc.gradient(0, segments(w, 2), segments(new double[3], 2), 1, r);
    acc.update(0, segments(w, 2), segments(new double[3], 2), r);
    w = new double[] {c[0] + 3, c[1] + 4, c[2]}; // a jump, not an update the accumulator measured
    acc.abandon();
    double first = Double.NaN;
    double last = Double.NaN;
    for (int t = 1; t <= 4; t++) {
      r.clear();
      double[] e = {w[0] - c[0], w[1] - c[1], w[2] - c[2]};
      double ne = Math.sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2]);
      // g = μ e + sqrt(L² − μ²) ‖e‖ e⊥ (e⊥ a unit vector orthogonal to e, in the first two coordinates)
      double[] perp = {-e[1] / Math.hypot(e[0], e[1]), e[0] / Math.hypot(e[0], e[1]), 0};
      double k = Math.sqrt(l * l - mu * mu) * ne;
      double[] g = {mu * e[0] + k * perp[0], mu * e[1] + k * perp[1], mu * e[2]};
      double[] s = {eta * g[0], eta * g[1], eta * g[2]};
      double[] next = {w[0] - s[0], w[1] - s[1], w[2] - s[2]};
      acc.gradient(t, segments(w, 2), segments(g, 2), 1, r);
      double dist = r.get("ema_dist_sq");
      assertThat(r.get("ema_grad_dot") / dist).isCloseTo(mu, within(1e-9));   // RSI
      assertThat(r.get("grad_sq") / dist).isCloseTo(l * l, within(1e-9));     // EB²
      acc.update(t, segments(next, 2), segments(s, 2), r);
      double after = dist + 2 * r.get("ema_update_dot") + r.get("update_sq");
      assertThat(after / dist).isCloseTo(1 - mu * mu / (l * l), within(1e-9));
      if (t == 1) {
        first = dist;
      }
      last = after;
      w = next;
    }
    assertThat(last / first).isCloseTo(0.96059601, within(1e-9));
  }

  @Test
  void nonfiniteCountsNanAndInfinityInGradientAndWeights() {
    StepRecord r = record(Level.BASIC, 0);
    GeometryAccumulator acc = new GeometryAccumulator(Level.BASIC, 1, 50, 0, 0, 1, 1, r);
    acc.gradient(0, segments(new double[] {1, Double.POSITIVE_INFINITY, 3}, 1),
        segments(new double[] {Double.NaN, Double.NaN, Double.NEGATIVE_INFINITY}, 2), 1, r);
    assertThat(r.get("nonfinite")).isEqualTo(4);
    assertThat(r.get("grad_sq")).isNaN();  // sent as it is, never replaced
    assertThat(r.get("weight_sq")).isInfinite();
  }

  @Test
  void projectionsAreInnerProductsWithSeededGaussianDirectionsAcrossBlocks() {
    int k = 4;
    int d0 = Projections.BLOCK + 1000; // spans two blocks
    int d1 = 300;
    SplittableRandom rnd = new SplittableRandom(5);
    double[] w = new double[d0 + d1];
    for (int i = 0; i < w.length; i++) {
      w[i] = rnd.nextDouble(-1, 1);
    }
    List<INDArray> segs = segments(w, d0);
    Projections p = new Projections(k, 99, DataType.DOUBLE);
    double[] got = p.compute(segs).clone();

    // recompute: regenerate each block's directions and take the dot products here
    Projections q = new Projections(k, 99, DataType.DOUBLE);
    double[] expected = new double[k];
    double sum = 0;
    double sumSq = 0;
    long n = 0;
    int[][] blocks = {{0, 0, 0, Projections.BLOCK}, {0, 1, Projections.BLOCK, d0}, {1, 0, d0, d0 + d1}};
    for (int[] b : blocks) {
      int len = b[3] - b[2];
      double[][] theta = q.directions(b[0], b[1], len).toDoubleMatrix();
      for (int j = 0; j < k; j++) {
        for (int i = 0; i < len; i++) {
          expected[j] += theta[j][i] * w[b[2] + i];
          sum += theta[j][i];
          sumSq += theta[j][i] * theta[j][i];
          n++;
        }
      }
    }
    for (int j = 0; j < k; j++) {
      assertThat(got[j]).isCloseTo(expected[j], within(1e-9 * Math.max(1, Math.abs(expected[j]))));
    }
    assertThat(sum / n).isCloseTo(0, within(0.01));     // N(0, 1) coordinates
    assertThat(sumSq / n).isCloseTo(1, within(0.02));
    // the same seed gives the same directions; another seed others
    assertThat(new Projections(k, 99, DataType.DOUBLE).compute(segs)).containsExactly(got);
    assertThat(new Projections(k, 100, DataType.DOUBLE).compute(segs)[0]).isNotEqualTo(got[0]);
    // cached directions are the same numbers, kept: the same projections at every call
    Projections cached = new Projections(k, 99, DataType.DOUBLE, Projections.cachedBytes(k, w.length, 8));
    assertThat(cached.compute(segs)).containsExactly(got);
    assertThat(cached.cached()).isTrue();
    assertThat(cached.compute(segs)).containsExactly(got);
    Projections tooBig = new Projections(k, 99, DataType.DOUBLE, Projections.cachedBytes(k, w.length, 8) - 1);
    assertThat(tooBig.compute(segs)).containsExactly(got);
    assertThat(tooBig.cached()).isFalse();
  }

  @Test
  void fullLevelSendsProjectionsAtGeometrySteps() {
    StepRecord r = record(Level.FULL, 3);
    GeometryAccumulator acc = new GeometryAccumulator(Level.FULL, 2, 50, 3, 7, 100, 100, r);
    List<INDArray> w = segments(new double[] {1, 2, 3, 4}, 2);
    List<INDArray> g = segments(new double[] {0, 0, 0, 0}, 2);
    acc.gradient(0, w, g, 1, r);
    double[] expected = new Projections(3, 7, DataType.DOUBLE).compute(w);
    for (int j = 0; j < 3; j++) {
      assertThat(r.get("proj." + j)).isEqualTo(expected[j]);
    }
    acc.update(0, w, g, r);
    r.clear();
    acc.gradient(1, w, g, 1, r);
    assertThat(r.has("proj.0")).isFalse();
  }

  /** ref_* at r = p + K: ⟨g_p, w_p − w_r⟩, ‖w_p − w_r‖², ‖g_p‖², p — exactly, from kept copies. */
  @Test
  void laggedReferenceProbes() {
    int every = 3;
    int lag = 5;
    StepRecord r = record(Level.FULL, 1);
    GeometryAccumulator acc = new GeometryAccumulator(Level.FULL, 1, 50, 1, 0, every, lag, r);
    SplittableRandom rnd = new SplittableRandom(3);
    int d = 7;
    List<double[]> ws = new ArrayList<>();
    List<double[]> gs = new ArrayList<>();
    double[] w = new double[d];
    for (int i = 0; i < d; i++) {
      w[i] = rnd.nextGaussian();
    }
    for (int t = 0; t < 20; t++) {
      double[] raw = new double[d];
      for (int i = 0; i < d; i++) {
        raw[i] = rnd.nextGaussian();
      }
      double[] g = TinyNets.scale(raw, 0.25);
      double[] s = TinyNets.scale(g, 0.1);
      double[] next = TinyNets.sub(w, s);
      ws.add(w);
      gs.add(g);
      r.clear();
      // the accumulator's views are overwritten between calls, as DL4J's are
      List<INDArray> wv = segments(w, 3);
      List<INDArray> gv = segments(raw, 3);
      acc.gradient(t, wv, gv, 0.25, r);
      int p = t - lag;
      if (p >= 0 && p % every == 0) {
        double[] dd = TinyNets.sub(ws.get(p), w);
        assertThat(r.get("ref_probe_step")).isEqualTo(p);
        assertThat(r.get("ref_grad_dot")).isCloseTo(TinyNets.dot(gs.get(p), dd), within(1e-12));
        assertThat(r.get("ref_dist_sq")).isCloseTo(TinyNets.dot(dd, dd), within(1e-12));
        assertThat(r.get("ref_grad_sq")).isCloseTo(TinyNets.dot(gs.get(p), gs.get(p)), within(1e-12));
      } else {
        assertThat(r.has("ref_probe_step")).isFalse();
      }
      for (INDArray x : wv) {
        x.assign(Double.NaN); // the probe must not alias the caller's views
      }
      acc.update(t, segments(next, 3), segments(s, 3), r);
      w = next;
    }
  }

  @Test
  void memoryPerLevel() {
    long d = 1_000_000;
    long cache = Projections.DEFAULT_CACHE_BYTES;
    assertThat(GeometryAccumulator.memoryBytes(Level.BASIC, d, 4, 32, 100, 100, cache)).isZero();
    assertThat(GeometryAccumulator.memoryBytes(Level.STANDARD, d, 4, 32, 100, 100, cache)).isEqualTo(12 * d);
    // 32 directions of 10^6 floats (128 MB) exceed the default 64 MiB: one block is regenerated per use
    assertThat(GeometryAccumulator.memoryBytes(Level.FULL, d, 4, 32, 100, 100, cache))
        .isEqualTo(20 * d + 32L * Projections.BLOCK * 4);
    assertThat(GeometryAccumulator.memoryBytes(Level.FULL, d, 4, 32, 100, 250, cache))
        .isEqualTo(36 * d + 32L * Projections.BLOCK * 4);
    // d = 500,000: 64,000,000 bytes of directions fit, and are kept
    assertThat(GeometryAccumulator.memoryBytes(Level.FULL, 500_000, 4, 32, 100, 100, cache))
        .isEqualTo(20 * 500_000L + 32L * 500_000 * 4);
  }

  @Test
  void rejectsBadSettings() {
    StepRecord r = record(Level.FULL, 32);
    assertThatThrownBy(() -> new GeometryAccumulator(Level.STANDARD, 0, 50, 0, 0, 1, 1, r))
        .hasMessageContaining("geometryEvery");
    assertThatThrownBy(() -> new GeometryAccumulator(Level.STANDARD, 1, 0.5, 0, 0, 1, 1, r))
        .hasMessageContaining("emaHorizon");
    assertThatThrownBy(() -> new GeometryAccumulator(Level.FULL, 1, 50, 32, 0, 1, 9, r))
        .hasMessageContaining("at most 8");
    GeometryAccumulator acc = new GeometryAccumulator(Level.BASIC, 1, 50, 0, 0, 1, 1, r);
    assertThatThrownBy(() -> acc.update(3, segments(new double[] {1}), segments(new double[] {1}), r))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("without gradient(3)");
  }
}
