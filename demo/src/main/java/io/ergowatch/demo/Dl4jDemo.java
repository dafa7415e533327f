package io.ergowatch.demo;

import io.ergowatch.dl4j.ErgowatchListener;
import io.ergowatch.dl4j.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo's real training: Deeplearning4j networks trained in this process, each on its own
 * thread at a steady pace, with an {@link ErgowatchListener} (level standard, every step)
 * attached. Data is generated here, from fixed seeds; nothing is downloaded.
 *
 * <ul>
 *   <li>{@code dl4j-mlp-improving}: an MLP 16-64-64-4 (tanh, softmax) on a fixed, generated
 *       4-class task (labels from a random teacher network), full batch of 512, Adam 1e-3: the
 *       training loss keeps going down.
 *   <li>{@code dl4j-sgd-constant-lr}: linear regression (10 inputs, y = w*·x + noise of sd 0.5),
 *       plain SGD at the constant lr 0.1 on a fresh random minibatch of 16 every step: the
 *       weights reach a stationary distribution around w* and the minibatch gradient never
 *       vanishes (lr × curvature ≈ 0.2, so the loss decorrelates within a few steps).
 *   <li>{@code dl4j-lr-too-large}: the same regression on a fixed batch of 256, full-batch GD at
 *       lr = 2.05 / λ_max (λ_max of the loss's Hessian, computed from the data): past the stability
 *       limit 2/λ_max, the top mode grows ×1.05 per step and the loss diverges.
 *   <li>{@code dl4j-two-layer-lr*} (job {@code demo-dl4j-sweep}): a learning-rate sweep of a
 *       two-layer linear network, 1 → 1 → 1 with no biases (ŷ = b·a·x), trained by full-batch GD
 *       on the single example x = 1, y = 1 from (a, b) = (0.2, 0.1). DL4J's MSE is (ab − 1)², twice
 *       the ½(ab − 1)² of math.md §6.9, so its critical lr is 0.5 (at the minimum reached, with a
 *       = b = 1, the Hessian's top eigenvalue is 4): lr 0.495 converges, 0.55 settles on a
 *       period-2 orbit (oscillating), 0.75 wanders without converging or settling, 1.0 diverges.
 * </ul>
 */
public final class Dl4jDemo implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Dl4jDemo.class);

  /** One real run: its id, what it shows, and how it is built. */
  public record Spec(String run, String behaviour) {}

  public static final List<Spec> RUNS = List.of(
      new Spec("dl4j-mlp-improving", "DL4J MLP 16-64-64-4, full-batch Adam on a generated 4-class task: keeps improving"),
      new Spec("dl4j-sgd-constant-lr",
          "DL4J linear regression, plain SGD lr 0.1 on fresh minibatches of 16: stationary, gradient never vanishes"),
      new Spec("dl4j-lr-too-large", "DL4J linear regression, full-batch GD at lr = 2.05/lambda_max: past the stability limit"),
      sweepSpec(0.495), sweepSpec(0.55), sweepSpec(0.75), sweepSpec(1.0));

  /** The learning rates of the two-layer sweep (critical lr 0.5). */
  public static final double[] SWEEP_LRS = {0.495, 0.55, 0.75, 1.0};

  private static Spec sweepSpec(double lr) {
    return new Spec("dl4j-two-layer-lr" + lr, "DL4J two-layer linear net 1-1-1, full-batch GD on (ab-1)^2 at lr " + lr
        + " (critical lr 0.5)");
  }

  private final List<Thread> threads = new ArrayList<>();
  private final List<ErgowatchListener> listeners = new ArrayList<>();
  private volatile boolean stop;

  /**
   * Builds the networks and starts training. Throws (an {@link Error} included, e.g. when ND4J's
   * native library cannot load on this platform) before anything is started.
   *
   * @param stepsPerSecond iterations per second for each run
   */
  public Dl4jDemo(String address, int stepsPerSecond) {
    List<Runnable> steps = new ArrayList<>();
    List<MultiLayerNetwork> nets = new ArrayList<>();
    // 1. improving
    MultiLayerNetwork mlp = net(new Adam(1e-3), DataType.FLOAT, 16, new int[] {64, 64}, 4);
    DataSet cls = classification(512, 16, 4, 11);
    nets.add(mlp);
    steps.add(() -> mlp.fit(cls));
    // 2. stalled: constant-step SGD on fresh minibatches
    MultiLayerNetwork sgd = net(new Sgd(0.1), DataType.FLOAT, 10, new int[0], 1);
    double[] wStar = teacher(10, 21);
    SplittableRandom rng = new SplittableRandom(22);
    nets.add(sgd);
    steps.add(() -> sgd.fit(regression(16, wStar, 0.5, rng, DataType.FLOAT)));
    // 3. past the stability limit
    DataSet fixed = regression(256, wStar, 0.5, new SplittableRandom(31), DataType.DOUBLE);
    double lr = 2.05 / lambdaMax(fixed.getFeatures());
    MultiLayerNetwork gd = net(new Sgd(lr), DataType.DOUBLE, 10, new int[0], 1);
    nets.add(gd);
    steps.add(() -> gd.fit(fixed));

    // 4. the learning-rate sweep across the phase transition
    DataSet one = new DataSet(Nd4j.ones(DataType.DOUBLE, 1, 1), Nd4j.ones(DataType.DOUBLE, 1, 1));
    List<String[]> labels = new ArrayList<>(List.of(new String[] {"optimizer", "adam", "model", "mlp-16-64-64-4"},
        new String[] {"optimizer", "sgd", "model", "linear-10"}, new String[] {"optimizer", "gd", "model", "linear-10"}));
    for (double sweepLr : SWEEP_LRS) {
      MultiLayerNetwork two = twoLayerLinear(sweepLr, 0.2, 0.1);
      nets.add(two);
      steps.add(() -> two.fit(one));
      labels.add(new String[] {"optimizer", "gd", "model", "two-layer-linear-1-1-1", "lr", Double.toString(sweepLr)});
    }
    for (int i = 0; i < RUNS.size(); i++) {
      String job = RUNS.get(i).run().startsWith("dl4j-two-layer") ? "demo-dl4j-sweep" : "demo-dl4j";
      ErgowatchListener.Builder b = ErgowatchListener.builder().address(address).run(RUNS.get(i).run()).job(job)
          .level(Level.STANDARD);
      String[] kv = labels.get(i);
      for (int k = 0; k < kv.length; k += 2) {
        b.label(kv[k], kv[k + 1]);
      }
      ErgowatchListener l = b.build();
      listeners.add(l);
      nets.get(i).addListeners(l);
    }
    long periodNanos = TimeUnit.SECONDS.toNanos(1) / Math.max(1, stepsPerSecond);
    for (int i = 0; i < RUNS.size(); i++) {
      Runnable step = steps.get(i);
      String name = RUNS.get(i).run();
      Thread t = new Thread(() -> train(name, step, periodNanos), "ergowatch-demo-" + name);
      t.setDaemon(true);
      threads.add(t);
    }
    log.info("DL4J demo runs: lr of {} = {}", RUNS.get(2).run(), lr);
    threads.forEach(Thread::start);
  }

  private void train(String name, Runnable step, long periodNanos) {
    long next = System.nanoTime();
    try {
      while (!stop) {
        step.run();
        next += periodNanos;
        long now = System.nanoTime();
        if (next > now) {
          TimeUnit.NANOSECONDS.sleep(next - now);
        } else {
          next = now; // behind: do not try to catch up
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.warn("demo run {} stopped training", name, e);
    }
  }

  static MultiLayerNetwork net(IUpdater updater, DataType type, int nIn, int[] hidden, int nOut) {
    NeuralNetConfiguration.ListBuilder lb = new NeuralNetConfiguration.Builder().seed(7).dataType(type)
        .updater(updater).weightInit(WeightInit.XAVIER).list();
    int in = nIn;
    for (int h : hidden) {
      lb.layer(new DenseLayer.Builder().nIn(in).nOut(h).activation(Activation.TANH).build());
      in = h;
    }
    lb.layer(nOut == 1
        ? new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(in).nOut(1).activation(Activation.IDENTITY).build()
        : new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(in).nOut(nOut).activation(Activation.SOFTMAX)
            .build());
    MultiLayerNetwork net = new MultiLayerNetwork(lb.build());
    net.init();
    return net;
  }

  /** ŷ = b·a·x: two dense layers of one unit, identity activations, no biases, MSE, plain SGD at lr. */
  static MultiLayerNetwork twoLayerLinear(double lr, double a, double b) {
    MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.DOUBLE)
        .updater(new Sgd(lr)).list()
        .layer(new DenseLayer.Builder().nIn(1).nOut(1).hasBias(false).activation(Activation.IDENTITY).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(1).nOut(1).hasBias(false)
            .activation(Activation.IDENTITY).build())
        .build());
    net.init();
    net.getLayer(0).setParam("W", Nd4j.valueArrayOf(new long[] {1, 1}, a, DataType.DOUBLE));
    net.getLayer(1).setParam("W", Nd4j.valueArrayOf(new long[] {1, 1}, b, DataType.DOUBLE));
    return net;
  }

  /** n points in d dims, labelled by the argmax of a random two-layer tanh teacher. */
  static DataSet classification(int n, int d, int classes, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int h = 32;
    double[][] w1 = gaussian(r, h, d, 1.0 / Math.sqrt(d));
    double[][] w2 = gaussian(r, classes, h, 1.0);
    double[] x = new double[n * d];
    double[] y = new double[n * classes];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        x[i * d + j] = r.nextGaussian();
      }
      double[] z = new double[h];
      for (int k = 0; k < h; k++) {
        double s = 0;
        for (int j = 0; j < d; j++) {
          s += w1[k][j] * x[i * d + j];
        }
        z[k] = Math.tanh(2 * s);
      }
      int best = 0;
      double bestV = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        double s = 0;
        for (int k = 0; k < h; k++) {
          s += w2[c][k] * z[k];
        }
        if (s > bestV) {
          bestV = s;
          best = c;
        }
      }
      y[i * classes + best] = 1;
    }
    return new DataSet(Nd4j.create(x, new long[] {n, d}, DataType.FLOAT),
        Nd4j.create(y, new long[] {n, classes}, DataType.FLOAT));
  }

  static double[] teacher(int d, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] w = new double[d];
    for (int j = 0; j < d; j++) {
      w[j] = r.nextGaussian();
    }
    return w;
  }

  /** n examples x ~ N(0, I), y = w*·x + 0.3 + noise·N(0, 1). */
  static DataSet regression(int n, double[] wStar, double noise, SplittableRandom r, DataType type) {
    int d = wStar.length;
    double[] x = new double[n * d];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      double s = 0.3;
      for (int j = 0; j < d; j++) {
        double v = r.nextGaussian();
        x[i * d + j] = v;
        s += wStar[j] * v;
      }
      y[i] = s + noise * r.nextGaussian();
    }
    return new DataSet(Nd4j.create(x, new long[] {n, d}, type), Nd4j.create(y, new long[] {n, 1}, type));
  }

  /**
   * λ_max of the Hessian of DL4J's MSE loss (mean over the batch of (ŷ − y)², one output) for a
   * linear model with bias: (2/n) [X 1]ᵀ[X 1], by power iteration.
   */
  static double lambdaMax(INDArray features) {
    int n = (int) features.size(0);
    int d = (int) features.size(1);
    double[][] a = new double[d + 1][d + 1];
    double[][] x = features.toDoubleMatrix();
    for (int i = 0; i < n; i++) {
      for (int p = 0; p <= d; p++) {
        double xp = p < d ? x[i][p] : 1;
        for (int q = 0; q <= d; q++) {
          a[p][q] += 2.0 / n * xp * (q < d ? x[i][q] : 1);
        }
      }
    }
    double[] v = new double[d + 1];
    java.util.Arrays.fill(v, 1);
    double lambda = 0;
    for (int it = 0; it < 500; it++) {
      double[] w = new double[d + 1];
      for (int p = 0; p <= d; p++) {
        for (int q = 0; q <= d; q++) {
          w[p] += a[p][q] * v[q];
        }
      }
      double norm = 0;
      for (double c : w) {
        norm += c * c;
      }
      norm = Math.sqrt(norm);
      lambda = norm;
      for (int p = 0; p <= d; p++) {
        v[p] = w[p] / norm;
      }
    }
    return lambda;
  }

  private static double[][] gaussian(SplittableRandom r, int rows, int cols, double sd) {
    double[][] m = new double[rows][cols];
    for (double[] row : m) {
      for (int j = 0; j < cols; j++) {
        row[j] = sd * r.nextGaussian();
      }
    }
    return m;
  }

  /** Stops training and closes each listener (its last records, then BYE). */
  @Override
  public void close() {
    stop = true;
    for (Thread t : threads) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    listeners.forEach(ErgowatchListener::close);
  }
}
