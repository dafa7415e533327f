package io.ergowatch.dl4j;

import java.util.Arrays;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * A rough overhead check, not the benchmark of issue 4 (that belongs in bench/): an MLP trained
 * with and without the listener (writing to a no-op sink), per level, interleaved, medians of 5.
 * Run with {@code -Dergowatch.bench=true -Dtest=ListenerOverheadCheck}.
 */
@EnabledIfSystemProperty(named = "ergowatch.bench", matches = "true")
class ListenerOverheadCheck {
  private static final int ITERS = 200;

  private static MultiLayerNetwork net() {
    MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1)
        .dataType(DataType.FLOAT).updater(new Nesterovs(0.01, 0.9)).weightInit(WeightInit.XAVIER).list()
        .layer(new DenseLayer.Builder().nIn(64).nOut(256).activation(Activation.RELU).build())
        .layer(new DenseLayer.Builder().nIn(256).nOut(256).activation(Activation.RELU).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(256).nOut(1)
            .activation(Activation.IDENTITY).build())
        .build());
    net.init();
    return net;
  }

  private static double time(ErgowatchListener.Builder b, DataSet data) {
    MultiLayerNetwork net = net();
    if (b != null) {
      StepRecord r = b.newRecord();
      net.addListeners(b.build(new ErgowatchListener.Sink() {
        @Override
        public void record(long step, int[] ids, double[] values, int count) {}

        @Override
        public void close() {}
      }, r));
    }
    for (int i = 0; i < 30; i++) {
      net.fit(data);
    }
    long t0 = System.nanoTime();
    for (int i = 0; i < ITERS; i++) {
      net.fit(data);
    }
    return (System.nanoTime() - t0) / 1e3 / ITERS;
  }

  @Test
  void overhead() {
    Nd4j.getRandom().setSeed(3);
    DataSet data = new DataSet(Nd4j.randn(DataType.FLOAT, 128, 64), Nd4j.randn(DataType.FLOAT, 128, 1));
    String[] names = {"none", "basic", "standard", "full/10"};
    double[][] us = new double[names.length][5];
    for (int rep = 0; rep < 5; rep++) {
      us[0][rep] = time(null, data);
      us[1][rep] = time(ErgowatchListener.builder().run("b").level(Level.BASIC), data);
      us[2][rep] = time(ErgowatchListener.builder().run("b").level(Level.STANDARD), data);
      us[3][rep] = time(ErgowatchListener.builder().run("b").level(Level.FULL).geometryEvery(10)
          .reference(10, 10), data);
    }
    double base = median(us[0]);
    System.out.printf("MLP 64-256-256-1 (d = %d), batch 128, FLOAT, Nesterovs%n", net().numParams());
    for (int i = 0; i < names.length; i++) {
      double m = median(us[i]);
      System.out.printf("%-10s %8.1f us/iter  %+6.1f%%%n", names[i], m, 100 * (m / base - 1));
    }
  }

  @Test
  void reductionCosts() {
    org.nd4j.linalg.api.ndarray.INDArray a = Nd4j.randn(DataType.FLOAT, 82689);
    org.nd4j.linalg.api.ndarray.INDArray b = Nd4j.randn(DataType.FLOAT, 82689);
    org.nd4j.linalg.api.ndarray.INDArray c = Nd4j.create(DataType.FLOAT, 82689);
    for (int rep = 0; rep < 3; rep++) {
      long t0 = System.nanoTime();
      double s = 0;
      for (int i = 0; i < 2000; i++) {
        s += Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.reduce3.Dot(a, b)).getDouble(0);
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < 2000; i++) {
        s += Nd4j.getBlasWrapper().dot(a, b);
      }
      long t2 = System.nanoTime();
      for (int i = 0; i < 2000; i++) {
        a.mul(0.5, c);
      }
      long t3 = System.nanoTime();
      for (int i = 0; i < 2000; i++) {
        c.assign(a);
      }
      long t4 = System.nanoTime();
      System.out.printf("Dot op %.1f us, blas dot %.1f us, mul-into %.1f us, assign %.1f us (%s)%n", (t1 - t0) / 2e6 * 1e3,
          (t2 - t1) / 2e6 * 1e3, (t3 - t2) / 2e6 * 1e3, (t4 - t3) / 2e6 * 1e3, s > 0);
    }
  }

  private static double median(double[] a) {
    double[] c = a.clone();
    Arrays.sort(c);
    return c[c.length / 2];
  }
}
