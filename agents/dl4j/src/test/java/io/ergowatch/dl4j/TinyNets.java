package io.ergowatch.dl4j;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Tiny networks (4 → 3 → 1, tanh, MSE) and a listener that captures what DL4J shows. */
final class TinyNets {
  static final int BATCH = 8;

  private TinyNets() {}

  static IUpdater updater(String name, double lr) {
    return switch (name) {
      case "sgd" -> new Sgd(lr);
      case "momentum" -> new Nesterovs(lr, 0.9);
      case "adam" -> new Adam(lr);
      default -> throw new IllegalArgumentException(name);
    };
  }

  static MultiLayerNetwork mlp(IUpdater updater, DataType type) {
    MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(42).dataType(type)
        .updater(updater).weightInit(WeightInit.XAVIER).list()
        .layer(new DenseLayer.Builder().name("hidden").nIn(4).nOut(3).activation(Activation.TANH).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).name("out").nIn(3).nOut(1)
            .activation(Activation.IDENTITY).build())
        .build();
    MultiLayerNetwork net = new MultiLayerNetwork(conf);
    net.init();
    return net;
  }

  static ComputationGraph graph(IUpdater updater, DataType type) {
    ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(42).dataType(type)
        .updater(updater).weightInit(WeightInit.XAVIER).graphBuilder().addInputs("in")
        .addLayer("hidden", new DenseLayer.Builder().nIn(4).nOut(3).activation(Activation.TANH).build(), "in")
        .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(3).nOut(1)
            .activation(Activation.IDENTITY).build(), "hidden")
        .setOutputs("out").build();
    ComputationGraph net = new ComputationGraph(conf);
    net.init();
    return net;
  }

  /** A fixed regression batch: y = a linear map of x plus noise. */
  static DataSet batch(long seed, DataType type) {
    Nd4j.getRandom().setSeed(seed);
    INDArray x = Nd4j.randn(DataType.DOUBLE, BATCH, 4);
    INDArray y = x.mmul(Nd4j.create(new double[][] {{1.0}, {-2.0}, {0.5}, {3.0}}))
        .add(Nd4j.randn(DataType.DOUBLE, BATCH, 1).mul(0.1));
    return new DataSet(x.castTo(type), y.castTo(type));
  }

  static double[] vec(INDArray a) {
    return a.castTo(DataType.DOUBLE).reshape(a.length()).toDoubleVector();
  }

  /** What one iteration looked like from the two callbacks. */
  record Seen(long iteration, double[] w, double[] raw, int batch, double[] wNext, double[] view, double score) {}

  /** Copies the parameters and the gradient view at both callbacks (reads only). */
  static final class Capture extends BaseTrainingListener {
    final List<Seen> seen = new ArrayList<>();
    private double[] w;
    private double[] raw;
    private int batch;

    @Override
    public void onGradientCalculation(Model model) {
      w = vec(model.params());
      raw = vec(model.getGradientsViewArray());
      batch = model.batchSize();
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
      seen.add(new Seen(iteration, w, raw, batch, vec(model.params()), vec(model.getGradientsViewArray()),
          model.score()));
    }
  }

  // ---- double-precision helpers for recomputing ----

  static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  static double[] sub(double[] a, double[] b) {
    double[] r = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      r[i] = a[i] - b[i];
    }
    return r;
  }

  static double[] scale(double[] a, double k) {
    double[] r = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      r[i] = a[i] * k;
    }
    return r;
  }

  static double[] slice(double[] a, int from, int to) {
    return java.util.Arrays.copyOfRange(a, from, to);
  }
}
