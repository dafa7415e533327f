package io.ergowatch.dl4j;

import static io.ergowatch.dl4j.TinyNets.BATCH;
import static io.ergowatch.dl4j.TinyNets.dot;
import static io.ergowatch.dl4j.TinyNets.scale;
import static io.ergowatch.dl4j.TinyNets.slice;
import static io.ergowatch.dl4j.TinyNets.sub;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.ergowatch.dl4j.CapturingSink.Sent;
import io.ergowatch.dl4j.TinyNets.Capture;
import io.ergowatch.dl4j.TinyNets.Seen;
import java.util.List;
import java.util.function.Function;
import org.assertj.core.data.Offset;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Every series the listener sends equals the value recomputed here, in double, from the parameters
 * and gradients captured by an independent listener ({@link Capture}): g = raw / batch at
 * onGradientCalculation, u = w_{t+1} − w_t from the parameters themselves (not from the view).
 */
class ErgowatchListenerTest {
  private static final double LR = 0.05;
  private static final int STEPS = 12;

  /** Trains with the listener and a capture; returns (what was sent, what was seen). */
  private static Run train(Model net, ErgowatchListener.Builder b, DataType type) {
    CapturingSink[] sink = new CapturingSink[1];
    ErgowatchListener listener = CapturingSink.listener(b, sink);
    Capture capture = new Capture();
    DataSet data = TinyNets.batch(7, type);
    if (net instanceof MultiLayerNetwork m) {
      m.addListeners(capture, listener);
      for (int i = 0; i < STEPS; i++) {
        m.fit(TinyNets.batch(100 + i, type)); // a fresh batch each step: u_t, u_{t-1} not collinear
      }
    } else {
      ComputationGraph g = (ComputationGraph) net;
      g.addListeners(listener, capture); // the order of listeners does not matter
      for (int i = 0; i < STEPS; i++) {
        g.fit(TinyNets.batch(100 + i, type));
      }
    }
    listener.close();
    assertThat(sink[0].closed).isTrue();
    assertThat(data).isNotNull();
    return new Run(sink[0].sent, capture.seen);
  }

  record Run(List<Sent> sent, List<Seen> seen) {}

  private static ErgowatchListener.Builder builder() {
    return ErgowatchListener.builder().run("test");
  }

  @ParameterizedTest
  @ValueSource(strings = {"sgd", "momentum", "adam"})
  void everySeriesMatchesARecomputationOnAMultiLayerNetwork(String updater) {
    Run run = train(TinyNets.mlp(TinyNets.updater(updater, LR), DataType.DOUBLE),
        builder().level(Level.STANDARD).emaHorizon(4), DataType.DOUBLE);
    checkAll(run, 1, 4, Offset.offset(1e-12), LR);
  }

  @ParameterizedTest
  @ValueSource(strings = {"sgd", "adam"})
  void everySeriesMatchesARecomputationOnAComputationGraph(String updater) {
    Run run = train(TinyNets.graph(TinyNets.updater(updater, LR), DataType.DOUBLE),
        builder().level(Level.STANDARD).emaHorizon(4), DataType.DOUBLE);
    checkAll(run, 1, 4, Offset.offset(1e-12), LR);
  }

  @Test
  void geometryEveryThreeStepsWithMomentum() {
    Run run = train(TinyNets.mlp(TinyNets.updater("momentum", LR), DataType.DOUBLE),
        builder().level(Level.STANDARD).geometryEvery(3).emaHorizon(6), DataType.DOUBLE);
    checkAll(run, 3, 6, Offset.offset(1e-12), LR);
  }

  @Test
  void floatNetworkMatchesToFloatRounding() {
    Run run = train(TinyNets.mlp(TinyNets.updater("adam", LR), DataType.FLOAT),
        builder().level(Level.STANDARD).emaHorizon(4), DataType.FLOAT);
    checkAll(run, 1, 4, Offset.offset(1e-5), LR);
  }

  @Test
  void basicLevelSendsTheNormsEveryStepAndNoUpdateGeometry() {
    Run run = train(TinyNets.mlp(TinyNets.updater("sgd", LR), DataType.DOUBLE), builder().level(Level.BASIC),
        DataType.DOUBLE);
    assertThat(run.sent()).allSatisfy(s -> assertThat(s.values()).containsOnlyKeys("loss", "lr", "batch_size",
        "grad_sq", "weight_sq", "nonfinite"));
    checkAll(run, 1, 0, Offset.offset(1e-12), LR);
  }

  /** math.md §2 on plain SGD: ‖w_{t+1} − c_t‖² = ema_dist_sq (1 − 2η RSI + η² EB²), from the sent values. */
  @Test
  void emaIdentityOfOneSgdStep() {
    Run run = train(TinyNets.mlp(TinyNets.updater("sgd", LR), DataType.DOUBLE),
        builder().level(Level.STANDARD).emaHorizon(5), DataType.DOUBLE);
    double[] c = run.seen().get(0).w().clone();
    double a = 1.0 / 5;
    for (int t = 0; t < STEPS; t++) {
      Sent s = run.sent().get(t);
      Seen seen = run.seen().get(t);
      double dist = s.get("ema_dist_sq");
      double rsi = s.get("ema_grad_dot") / dist;
      double eb2 = s.get("grad_sq") / dist;
      double[] next = sub(seen.wNext(), c);
      if (t > 0) {
        assertThat(dot(next, next)).isCloseTo(dist * (1 - 2 * LR * rsi + LR * LR * eb2), within(1e-12));
      }
      // and the general form, for any update: ema_dist_sq + 2 ema_update_dot + update_sq
      assertThat(dot(next, next)).isCloseTo(dist + 2 * s.get("ema_update_dot") + s.get("update_sq"),
          within(1e-12));
      double[] e = sub(seen.w(), c);
      for (int i = 0; i < c.length; i++) {
        c[i] += a * e[i];
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"MultiLayerNetwork", "ComputationGraph"})
  void layerFilterMeasuresOnlyTheChosenLayers(String kind) {
    Model net = kind.equals("ComputationGraph") ? TinyNets.graph(TinyNets.updater("adam", LR), DataType.DOUBLE)
        : TinyNets.mlp(TinyNets.updater("adam", LR), DataType.DOUBLE);
    int hidden = 4 * 3 + 3; // the hidden layer's parameters come first in the flat vector; the output's 3 + 1 follow
    Run run = train(net, builder().level(Level.STANDARD).emaHorizon(4).layers("out"::equals)
        .layerGradNorms("hidden", "out"), DataType.DOUBLE);
    int d = hidden + 4;
    Run sliced = new Run(run.sent(), run.seen().stream().map(s -> new Seen(s.iteration(), slice(s.w(), hidden, d),
        slice(s.raw(), hidden, d), s.batch(), slice(s.wNext(), hidden, d), slice(s.view(), hidden, d), s.score()))
        .toList());
    checkAll(sliced, 1, 4, Offset.offset(1e-12), LR);
    for (int t = 0; t < STEPS; t++) { // per-layer norms by vertex / layer name, whatever the filter keeps
      double[] g = scale(run.seen().get(t).raw(), 1.0 / BATCH);
      double[] gh = slice(g, 0, hidden);
      double[] go = slice(g, hidden, d);
      assertThat(run.sent().get(t).get("layer.hidden.grad_sq")).isCloseTo(dot(gh, gh), within(1e-12 * dot(gh, gh)));
      assertThat(run.sent().get(t).get("layer.out.grad_sq")).isCloseTo(dot(go, go), within(1e-12 * dot(go, go)));
    }
  }

  @Test
  void learningRateIsTheLargestWhenLayersDiffer() {
    MultiLayerNetwork net = new MultiLayerNetwork(new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
        .seed(1).dataType(DataType.DOUBLE).updater(new org.nd4j.linalg.learning.config.Sgd(0.01)).list()
        .layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nIn(4).nOut(3)
            .updater(new org.nd4j.linalg.learning.config.Sgd(0.3)).build())
        .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
            org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MSE).nIn(3).nOut(1)
            .activation(org.nd4j.linalg.activations.Activation.IDENTITY).build())
        .build());
    net.init();
    Run run = train(net, builder().level(Level.BASIC), DataType.DOUBLE);
    assertThat(run.sent()).allSatisfy(s -> assertThat(s.get("lr")).isEqualTo(0.3));
  }

  /** The segments are views: writing through one changes the network (so nothing was copied). */
  @Test
  void segmentsAreViewsNotCopies() {
    MultiLayerNetwork net = TinyNets.mlp(TinyNets.updater("sgd", LR), DataType.FLOAT);
    net.fit(TinyNets.batch(1, DataType.FLOAT)); // the gradient view exists after a first fit
    org.nd4j.linalg.api.ndarray.INDArray w = ErgowatchListener.flat(net.params());
    w.putScalar(0, 123.0);
    assertThat(net.params().getDouble(0L)).isEqualTo(123.0);
    org.nd4j.linalg.api.ndarray.INDArray g = ErgowatchListener.flat(net.getGradientsViewArray());
    g.putScalar(1, -7.0);
    assertThat(net.getGradientsViewArray().getDouble(1L)).isEqualTo(-7.0);
    org.nd4j.linalg.api.ndarray.INDArray out = ErgowatchListener.flat(net.getLayer(1).params());
    out.putScalar(0, 5.0);
    assertThat(net.params().getDouble(net.getLayer(0).numParams())).isEqualTo(5.0);
    org.nd4j.linalg.api.ndarray.INDArray outGrad = ErgowatchListener.flat(net.getLayer(1).getGradientsViewArray());
    outGrad.putScalar(0, 9.0);
    assertThat(net.getGradientsViewArray().getDouble(net.getLayer(0).numParams())).isEqualTo(9.0);
  }

  @Test
  void layerGradNormsAreUserSeriesAtGeometrySteps() {
    MultiLayerNetwork net = TinyNets.mlp(TinyNets.updater("sgd", LR), DataType.DOUBLE);
    int hidden = (int) net.getLayer(0).numParams();
    Run run = train(net, builder().level(Level.BASIC).geometryEvery(2).layerGradNorms("hidden", "out", "Missing-1"),
        DataType.DOUBLE);
    assertThat(ErgowatchListener.layerSeries("Missing-1")).isEqualTo("layer.missing_1.grad_sq");
    for (int t = 0; t < STEPS; t++) {
      Sent s = run.sent().get(t);
      assertThat(s.values()).doesNotContainKey("layer.missing_1.grad_sq");
      if (t % 2 != 0) {
        assertThat(s.values()).doesNotContainKeys("layer.hidden.grad_sq", "layer.out.grad_sq");
        continue;
      }
      double[] g = scale(run.seen().get(t).raw(), 1.0 / BATCH);
      double[] gh = slice(g, 0, hidden);
      double[] go = slice(g, hidden, g.length);
      assertThat(s.get("layer.hidden.grad_sq")).isCloseTo(dot(gh, gh), within(1e-12 * dot(gh, gh)));
      assertThat(s.get("layer.out.grad_sq")).isCloseTo(dot(go, go), within(1e-12 * dot(go, go)));
      assertThat(s.get("layer.hidden.grad_sq") + s.get("layer.out.grad_sq")).isCloseTo(s.get("grad_sq"),
          within(1e-12 * s.get("grad_sq")));
    }
  }

  /**
   * The shared check: step numbers, loss, lr, batch size, nonfinite and the geometry, recomputed
   * in double from the capture, with an independently tracked EMA centre (horizon 0: level BASIC,
   * which sends no update geometry).
   */
  private static void checkAll(Run run, int every, double horizon, Offset<Double> rel, double lr) {
    assertThat(run.sent()).hasSize(STEPS);
    assertThat(run.seen()).hasSize(STEPS);
    double a = horizon > 0 ? Math.min(1, every / horizon) : 0;
    double[] c = null;
    double[] uPrev = null;
    for (int t = 0; t < STEPS; t++) {
      Sent s = run.sent().get(t);
      Seen seen = run.seen().get(t);
      assertThat(s.step()).isEqualTo(t);
      assertThat(seen.iteration()).isEqualTo(t);
      double[] w = seen.w();
      double[] g = scale(seen.raw(), 1.0 / BATCH);
      double[] u = sub(seen.wNext(), w); // the update, from the parameters themselves
      Function<Double, Offset<Double>> tol = x -> Offset.offset(rel.value * Math.max(1e-3, Math.abs(x)));

      assertThat(s.get("loss")).isEqualTo(seen.score());
      assertThat(s.get("lr")).isEqualTo(lr);
      assertThat(s.get("batch_size")).isEqualTo(BATCH);
      assertThat(s.get("nonfinite")).isZero();
      close(s, "grad_sq", dot(g, g), tol);
      close(s, "weight_sq", dot(w, w), tol);
      boolean geometry = t % every == 0 && horizon > 0; // horizon 0: BASIC, no update geometry
      if (geometry) {
        close(s, "update_sq", dot(u, u), tol);
        close(s, "grad_dot_update", dot(g, u), tol);
        if (uPrev != null && t > 0) {
          close(s, "update_dot_prev", dot(u, uPrev), tol);
        } else {
          assertThat(s.values()).doesNotContainKey("update_dot_prev");
        }
        if (c == null) {
          c = w.clone();
        }
        double[] e = sub(w, c);
        close(s, "ema_grad_dot", dot(g, e), tol);
        close(s, "ema_dist_sq", dot(e, e), tol);
        close(s, "ema_update_dot", dot(u, e), tol);
        for (int i = 0; i < c.length; i++) {
          c[i] += a * e[i];
        }
      } else {
        assertThat(s.values()).doesNotContainKeys("update_sq", "grad_dot_update", "update_dot_prev",
            "ema_grad_dot", "ema_dist_sq", "ema_update_dot");
      }
      uPrev = u;
    }
  }

  private static void close(Sent s, String name, double expected, Function<Double, Offset<Double>> tol) {
    assertThat(s.get(name)).as("%s at step %d", name, s.step()).isCloseTo(expected, tol.apply(expected));
  }

  @Test
  void optimizerLabelsAreReadFromTheModel() {
    assertThat(ErgowatchListener.inferLabels(TinyNets.mlp(TinyNets.updater("adam", LR), DataType.DOUBLE)))
        .containsExactly(java.util.Map.entry("optimizer", "adam"), java.util.Map.entry("beta1", "0.9"));
    assertThat(ErgowatchListener.inferLabels(TinyNets.graph(TinyNets.updater("momentum", LR), DataType.DOUBLE)))
        .containsExactly(java.util.Map.entry("optimizer", "nesterov"), java.util.Map.entry("momentum", "0.9"));
    assertThat(ErgowatchListener.inferLabels(TinyNets.mlp(TinyNets.updater("sgd", LR), DataType.DOUBLE)))
        .containsExactly(java.util.Map.entry("optimizer", "sgd"));
    MultiLayerNetwork mixed = new MultiLayerNetwork(new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
        .seed(1).updater(new org.nd4j.linalg.learning.config.Sgd(0.01)).list()
        .layer(new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nIn(4).nOut(3)
            .updater(new org.nd4j.linalg.learning.config.Adam(0.01)).build())
        .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
            org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MSE).nIn(3).nOut(1)
            .activation(org.nd4j.linalg.activations.Activation.IDENTITY).build())
        .build());
    mixed.init();
    assertThat(ErgowatchListener.inferLabels(mixed)).as("layers differ: no guess").isEmpty();
  }
}
