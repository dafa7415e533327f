package io.ergowatch.bench;

import io.ergowatch.dl4j.ErgowatchListener;
import io.ergowatch.dl4j.Level;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Overhead of {@link ErgowatchListener} on real DL4J training (issue 4, item 3). Not JMH: a DL4J
 * iteration takes milliseconds, so each configuration trains a fresh network for {@code --warmup}
 * iterations, then times {@code --iters} iterations ({@code net.fit(batch)} on one fixed
 * synthetic batch); the configurations are interleaved within each repeat and the table reports the
 * median over {@code --repeats}.
 *
 * <p>The listener writes to a real {@code ErgowatchAgent} pointed at an unreachable address
 * (127.0.0.1:1, connection refused): every record is encoded into the agent's buffer exactly as in
 * production, and the agent's background thread keeps failing to connect (no monitor shares the
 * CPU with the training; its close waits at most 100 ms, outside the timed loop). Records beyond
 * the agent's buffer (65536) are dropped, as they would be with a monitor that is down.
 *
 * <p>The last column times the listener's own callbacks ({@link TimedListener}) and divides by
 * the baseline's iteration: the overhead without the baseline's run-to-run noise. On 2 cores, run
 * it with {@code OMP_NUM_THREADS=1} too: ND4J's OpenMP threads and OpenBLAS's threads then stop
 * competing for the cores (the baseline itself got about 2× faster here).
 *
 * <pre>
 * java -cp bench/target/ergowatch-bench.jar io.ergowatch.bench.Dl4jOverhead [--iters-mlp 100] [--iters-cnn 40] [--warmup 20] [--repeats 5]
 * </pre>
 */
public final class Dl4jOverhead {
  private Dl4jOverhead() {}

  record Config(String name, Level level, int every) {}

  static final List<Config> CONFIGS = List.of(new Config("none", null, 0), new Config("basic", Level.BASIC, 1),
      new Config("standard", Level.STANDARD, 1), new Config("standard/10", Level.STANDARD, 10),
      new Config("full/10", Level.FULL, 10));

  static MultiLayerNetwork mlp() {
    MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1)
        .dataType(DataType.FLOAT).updater(new Nesterovs(0.01, 0.9)).weightInit(WeightInit.XAVIER).list()
        .layer(new DenseLayer.Builder().nIn(784).nOut(256).activation(Activation.RELU).build())
        .layer(new DenseLayer.Builder().nIn(256).nOut(256).activation(Activation.RELU).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(256).nOut(10)
            .activation(Activation.SOFTMAX).build())
        .build());
    net.init();
    return net;
  }

  static MultiLayerNetwork cnn() {
    MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1)
        .dataType(DataType.FLOAT).updater(new Nesterovs(0.01, 0.9)).weightInit(WeightInit.XAVIER).list()
        .layer(new ConvolutionLayer.Builder(5, 5).nIn(1).nOut(8).stride(1, 1).activation(Activation.RELU).build())
        .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
        .layer(new ConvolutionLayer.Builder(5, 5).nOut(16).stride(1, 1).activation(Activation.RELU).build())
        .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
        .layer(new DenseLayer.Builder().nOut(64).activation(Activation.RELU).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX).build())
        .setInputType(InputType.convolutionalFlat(28, 28, 1))
        .build());
    net.init();
    return net;
  }

  static DataSet data(int batch, int features) {
    Nd4j.getRandom().setSeed(3);
    INDArray x = Nd4j.rand(DataType.FLOAT, batch, features);
    INDArray y = Nd4j.zeros(DataType.FLOAT, batch, 10);
    for (int i = 0; i < batch; i++) {
      y.putScalar(i, i % 10, 1.0);
    }
    return new DataSet(x, y);
  }

  /**
   * Times the listener's own callbacks. Their sum is what the listener adds to an iteration, read
   * without the baseline's run-to-run noise (cache effects on the training's own work are not in
   * it: the A/B columns are).
   */
  static final class TimedListener extends BaseTrainingListener {
    private final ErgowatchListener inner;
    long nanos;

    TimedListener(ErgowatchListener inner) {
      this.inner = inner;
    }

    @Override
    public void onGradientCalculation(Model model) {
      long t0 = System.nanoTime();
      inner.onGradientCalculation(model);
      nanos += System.nanoTime() - t0;
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
      long t0 = System.nanoTime();
      inner.iterationDone(model, iteration, epoch);
      nanos += System.nanoTime() - t0;
    }
  }

  /** ms per iteration (whole iteration, and inside the listener) for one configuration on a fresh network. */
  static double[] time(Supplier<MultiLayerNetwork> make, DataSet data, Config c, int warmup, int iters, int rep) {
    MultiLayerNetwork net = make.get();
    ErgowatchListener listener = null;
    TimedListener timed = null;
    if (c.level() != null) {
      listener = ErgowatchListener.builder().address("127.0.0.1:1").run("bench-" + c.name().replace('/', '-') + "-" + rep)
          .level(c.level()).geometryEvery(c.every())
          .agent(a -> a.closeTimeout(java.time.Duration.ofMillis(100))).build();
      timed = new TimedListener(listener);
      net.addListeners(timed);
    }
    try {
      for (int i = 0; i < warmup; i++) {
        net.fit(data);
      }
      if (timed != null) {
        timed.nanos = 0;
      }
      long t0 = System.nanoTime();
      for (int i = 0; i < iters; i++) {
        net.fit(data);
      }
      double whole = (System.nanoTime() - t0) / 1e6 / iters;
      return new double[] {whole, timed == null ? 0 : timed.nanos / 1e6 / iters};
    } finally {
      if (listener != null) {
        listener.close();
      }
    }
  }

  public static void main(String[] args) {
    int itersMlp = 100;
    int itersCnn = 40;
    int warmup = 20;
    int repeats = 5;
    for (int i = 0; i + 1 < args.length; i += 2) {
      int v = Integer.parseInt(args[i + 1]);
      switch (args[i]) {
        case "--iters-mlp" -> itersMlp = v;
        case "--iters-cnn" -> itersCnn = v;
        case "--warmup" -> warmup = v;
        case "--repeats" -> repeats = v;
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    record Net(String name, Supplier<MultiLayerNetwork> make, DataSet data, int iters) {}
    List<Net> nets = List.of(
        new Net("MLP 784-256-256-10, batch 128", Dl4jOverhead::mlp, data(128, 784), itersMlp),
        new Net("MLP 784-256-256-10, batch 512", Dl4jOverhead::mlp, data(512, 784), Math.max(1, itersMlp / 3)),
        new Net("CNN 1x28x28 c5x8-p-c5x16-p-64-10, batch 64", Dl4jOverhead::cnn, data(64, 784), itersCnn));
    System.out.printf(Locale.ROOT, "DL4J overhead: warmup %d, repeats %d (median), FLOAT, Nesterovs, %d cores,"
        + " OMP_NUM_THREADS=%s%n", warmup, repeats, Runtime.getRuntime().availableProcessors(),
        System.getenv().getOrDefault("OMP_NUM_THREADS", "(unset)"));
    List<String> rows = new ArrayList<>();
    for (Net n : nets) {
      double[][] ms = new double[CONFIGS.size()][repeats];
      double[][] inside = new double[CONFIGS.size()][repeats];
      for (int rep = 0; rep < repeats; rep++) {
        for (int c = 0; c < CONFIGS.size(); c++) {
          double[] t = time(n.make(), n.data(), CONFIGS.get(c), warmup, n.iters(), rep);
          ms[c][rep] = t[0];
          inside[c][rep] = t[1];
        }
      }
      long d = n.make().get().numParams();
      double base = median(ms[0]);
      for (int c = 0; c < CONFIGS.size(); c++) {
        double m = median(ms[c]);
        double lo = Arrays.stream(ms[c]).min().orElse(m);
        double hi = Arrays.stream(ms[c]).max().orElse(m);
        double in = median(inside[c]);
        rows.add(String.format(Locale.ROOT, "| %s (d = %d) | %s | %.3f (%.3f–%.3f) | %s | %s |", n.name(), d,
            CONFIGS.get(c).name(), m, lo, hi,
            c == 0 ? "—" : String.format(Locale.ROOT, "%+.1f%%", 100 * (m / base - 1)),
            c == 0 ? "—" : String.format(Locale.ROOT, "%.3f (%.1f%%)", in, 100 * in / base)));
      }
    }
    System.out.println("| network | level | ms/iter, median (min–max) | overhead (A/B) | in listener, ms/iter (% of baseline) |");
    System.out.println("|---|---|---|---|---|");
    rows.forEach(System.out::println);
    System.exit(0);
  }

  private static double median(double[] a) {
    double[] c = a.clone();
    Arrays.sort(c);
    return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
  }
}
