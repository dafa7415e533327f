package io.ergowatch.monitor.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;

/** The demo's "past the stability limit" run sits where it claims: 2/λ_max separates converging from diverging. */
class Dl4jDemoTest {
  private static double lossAfter(double lr, DataSet data, int steps) {
    MultiLayerNetwork net = Dl4jDemo.net(new Sgd(lr), DataType.DOUBLE, 10, new int[0], 1);
    for (int t = 0; t < steps; t++) {
      net.fit(data);
    }
    return net.score(data);
  }

  @Test
  void stabilityLimitIsTwoOverLambdaMax() {
    DataSet fixed = Dl4jDemo.regression(256, Dl4jDemo.teacher(10, 21), 0.5, new SplittableRandom(31), DataType.DOUBLE);
    double lambda = Dl4jDemo.lambdaMax(fixed.getFeatures());
    double start = lossAfter(0, fixed, 1);
    assertThat(lossAfter(1.9 / lambda, fixed, 400)).isLessThan(start);
    assertThat(lossAfter(2.05 / lambda, fixed, 400)).isGreaterThan(1e6 * start);
  }
}
