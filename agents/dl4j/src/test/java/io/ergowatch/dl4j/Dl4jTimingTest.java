package io.ergowatch.dl4j;

import static io.ergowatch.dl4j.TinyNets.BATCH;
import static io.ergowatch.dl4j.TinyNets.sub;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.ergowatch.dl4j.TinyNets.Capture;
import io.ergowatch.dl4j.TinyNets.Seen;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Pins down the DL4J facts the listener relies on (dl4j-notes.md), for every updater used and for
 * both model kinds: at onGradientCalculation the gradient view holds the minibatch-summed raw
 * gradient at w_t (checked against central finite differences of the mean loss); at iterationDone
 * it holds the step applied, w_t − w_{t+1}.
 */
class Dl4jTimingTest {

  @ParameterizedTest
  @ValueSource(strings = {"sgd", "momentum", "adam"})
  void multiLayerNetwork(String updater) {
    MultiLayerNetwork net = TinyNets.mlp(TinyNets.updater(updater, 0.05), DataType.DOUBLE);
    Capture capture = new Capture();
    net.addListeners(capture);
    DataSet data = TinyNets.batch(1, DataType.DOUBLE);
    for (int i = 0; i < 4; i++) {
      // the finite differences need a twin at w_t: a clone taken before the fit
      MultiLayerNetwork twin = net.clone();
      net.fit(data);
      Seen s = capture.seen.get(i);
      assertThat(s.iteration()).isEqualTo(i);
      assertThat(s.batch()).isEqualTo(BATCH);
      checkRawGradient(s, w -> {
        twin.setParams(w);
        return twin.score(data);
      });
      checkAppliedStep(s);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"sgd", "momentum", "adam"})
  void computationGraph(String updater) {
    ComputationGraph net = TinyNets.graph(TinyNets.updater(updater, 0.05), DataType.DOUBLE);
    Capture capture = new Capture();
    net.addListeners(capture);
    DataSet data = TinyNets.batch(2, DataType.DOUBLE);
    for (int i = 0; i < 4; i++) {
      ComputationGraph twin = net.clone();
      net.fit(data);
      Seen s = capture.seen.get(i);
      assertThat(s.iteration()).isEqualTo(i);
      checkRawGradient(s, w -> {
        twin.setParams(w);
        return twin.score(data);
      });
      checkAppliedStep(s);
    }
  }

  /** raw / batch = ∂(mean loss)/∂w at w_t, by central differences. */
  private static void checkRawGradient(Seen s, java.util.function.Function<INDArray, Double> loss) {
    double h = 1e-6;
    for (int i = 0; i < s.w().length; i++) {
      double[] plus = s.w().clone();
      double[] minus = s.w().clone();
      plus[i] += h;
      minus[i] -= h;
      double fd = (loss.apply(row(plus)) - loss.apply(row(minus))) / (2 * h);
      assertThat(s.raw()[i] / BATCH).as("mean gradient coordinate %d", i).isCloseTo(fd, within(1e-7));
    }
    // and the loss DL4J reports is the mean loss at w_t
    assertThat(s.score()).isCloseTo(loss.apply(row(s.w())), within(1e-12));
  }

  /** The view at iterationDone is the step subtracted: w_{t+1} = w_t − view. */
  private static void checkAppliedStep(Seen s) {
    double[] applied = sub(s.w(), s.wNext());
    for (int i = 0; i < applied.length; i++) {
      assertThat(s.view()[i]).isCloseTo(applied[i], within(1e-15 + 1e-14 * Math.abs(s.w()[i])));
    }
    assertThat(TinyNets.dot(s.view(), s.view())).isGreaterThan(0);
  }

  private static INDArray row(double[] w) {
    return org.nd4j.linalg.factory.Nd4j.create(w, new long[] {1, w.length}, DataType.DOUBLE);
  }

}
