package io.ergowatch.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * The demo's networks are what they claim: 2/λ_max separates converging from diverging for the
 * "past the stability limit" run, and the sweep's two-layer network is GD on (ab − 1)².
 */
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

  /** The sweep's network does exactly GD on (ab − 1)²: a' = a − 2η(ab − 1)b, b' = b − 2η(ab − 1)a. */
  @Test
  void twoLayerLinearNetworkIsGradientDescentOnTheSquaredProduct() {
    double lr = 0.55;
    MultiLayerNetwork net = Dl4jDemo.twoLayerLinear(lr, 0.2, 0.1);
    assertThat(net.numParams()).isEqualTo(2);
    DataSet one = new DataSet(Nd4j.ones(DataType.DOUBLE, 1, 1), Nd4j.ones(DataType.DOUBLE, 1, 1));
    double a = 0.2;
    double b = 0.1;
    for (int t = 0; t < 50; t++) {
      assertThat(net.score(one)).isCloseTo((a * b - 1) * (a * b - 1), within(1e-12));
      net.fit(one);
      double r = a * b - 1;
      double na = a - 2 * lr * r * b;
      b = b - 2 * lr * r * a;
      a = na;
      assertThat(net.getLayer(0).getParam("W").getDouble(0)).isCloseTo(a, within(1e-12));
      assertThat(net.getLayer(1).getParam("W").getDouble(0)).isCloseTo(b, within(1e-12));
    }
  }
}
