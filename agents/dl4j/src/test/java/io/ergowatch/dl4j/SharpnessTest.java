package io.ergowatch.dl4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.ergowatch.dl4j.CapturingSink.Sent;
import io.ergowatch.dl4j.TinyNets.Capture;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

class SharpnessTest {

  /** f(w) = ½ wᵀ A w with A = diag(1, 4, -10, 10.5): the top eigenvalue in magnitude is 10.5. */
  @Test
  void powerIterationOnAQuadratic() {
    double[] a = {1, 4, -10, 10.5};
    INDArray diag = Nd4j.create(a, new long[] {4}, DataType.DOUBLE);
    Sharpness s = new Sharpness(4, DataType.DOUBLE, 200, 1e-3, 1);
    INDArray w = Nd4j.create(new double[] {0.3, -1, 2, 5}, new long[] {4}, DataType.DOUBLE);
    INDArray before = w.dup();
    double lambda = s.estimate(w, (x, out) -> x.mul(diag, out));
    assertThat(lambda).isCloseTo(10.5, within(1e-6));
    assertThat(w).isEqualTo(before);
    // warm start: one more iteration is enough now
    assertThat(new Sharpness(4, DataType.DOUBLE, 1, 1e-3, 1).estimate(w, (x, out) -> x.mul(diag, out)))
        .isNotCloseTo(10.5, within(1e-3));
    assertThat(s.estimate(w, (x, out) -> x.mul(diag, out))).isCloseTo(10.5, within(1e-6));
  }

  /** With a diagonal scaling D: the top eigenvalue of D A D, here of [[0.5, 1], [1, 12]]. */
  @Test
  void scaledPowerIterationEstimatesTheTopEigenvalueOfDad() {
    INDArray a = Nd4j.create(new double[][] {{2, 1}, {1, 3}}).castTo(DataType.DOUBLE);
    INDArray d = Nd4j.create(new double[] {0.5, 2}, new long[] {2}, DataType.DOUBLE);
    Sharpness s = new Sharpness(2, DataType.DOUBLE, 300, 1e-3, 1);
    INDArray w = Nd4j.create(new double[] {0.7, -0.2}, new long[] {2}, DataType.DOUBLE);
    double lambda = s.estimate(w, (x, out) -> out.assign(a.mmul(x.reshape(2, 1)).reshape(2)), d);
    double tr = 12.5;
    double det = 0.5 * 12 - 1;
    assertThat(lambda).isCloseTo(tr / 2 + Math.sqrt(tr * tr / 4 - det), within(1e-6));
  }

  /**
   * DL4J's Adam (1.0.0-M2.1) subtracts lr·√(1 − β₂^T)/(1 − β₁^T) · m/(√v + ε) at iteration t, T = t
   * + 1: the preconditioner the listener divides the Hessian by. Pinned here from the updater's
   * state (one block: [m | v]) and the applied step read from the gradient view.
   */
  @Test
  void adamStepIsTheBiasCorrectedMomentOverItsPreconditioner() {
    double lr = 0.01;
    MultiLayerNetwork net = TinyNets.mlp(TinyNets.updater("adam", lr), DataType.DOUBLE);
    Capture capture = new Capture();
    StateCapture state = new StateCapture();
    net.addListeners(capture, state);
    for (int t = 0; t < 5; t++) {
      net.fit(TinyNets.batch(300 + t, DataType.DOUBLE));
    }
    int d = (int) net.numParams();
    for (int t = 0; t < 5; t++) {
      double[] mv = state.states.get(t);
      assertThat(mv).hasSize(2 * d);
      double[] step = capture.seen.get(t).view();
      double bias = Math.sqrt(1 - Math.pow(0.999, t + 1)) / (1 - Math.pow(0.9, t + 1));
      for (int i = 0; i < d; i++) {
        double expected = lr * bias * mv[i] / (Math.sqrt(mv[d + i]) + 1e-8);
        assertThat(step[i]).as("step %d, parameter %d", t, i).isCloseTo(expected, within(1e-12 + 1e-9 * Math.abs(expected)));
      }
    }
  }

  /**
   * With Adam on every layer the sent sharpness is preconditioned: the top eigenvalue of
   * P^−1/2 H P^−1/2, H the Hessian of the probe loss at w_{t+1} (second differences, Jacobi) and P
   * Adam's preconditioner from the updater's state. On linear regression, so that H is positive
   * semi-definite: power iteration finds the largest eigenvalue in magnitude, and an indefinite H
   * with two nearly opposite extremes (the tiny MLP here: 88.3 and −87.0) would need far more
   * iterations than a test can afford.
   */
  @Test
  void adamSharpnessIsPreconditioned() {
    MultiLayerNetwork net = new MultiLayerNetwork(new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
        .seed(42).dataType(DataType.DOUBLE).updater(TinyNets.updater("adam", 0.01)).list()
        .layer(new org.deeplearning4j.nn.conf.layers.OutputLayer.Builder(
            org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MSE).nIn(4).nOut(1)
            .activation(org.nd4j.linalg.activations.Activation.IDENTITY).build())
        .build());
    net.init();
    DataSet probe = TinyNets.batch(77, DataType.DOUBLE);
    ErgowatchListener.Builder b = ErgowatchListener.builder().run("s").level(Level.BASIC).sharpness(2, probe, 400);
    CapturingSink[] sink = new CapturingSink[1];
    ErgowatchListener listener = CapturingSink.listener(b, sink);
    Capture capture = new Capture();
    StateCapture state = new StateCapture();
    net.addListeners(capture, state, listener);
    MultiLayerNetwork twin = net.clone();
    for (int t = 0; t < 3; t++) {
      net.fit(TinyNets.batch(400 + t, DataType.DOUBLE));
    }
    int d = (int) net.numParams();
    for (int t : new int[] {0, 2}) {
      double[] w = capture.seen.get(t).wNext();
      double[][] h = hessian(w, x -> {
        twin.setParams(Nd4j.create(x, new long[] {1, x.length}, DataType.DOUBLE));
        return twin.score(probe);
      });
      double[] v = java.util.Arrays.copyOfRange(state.states.get(t), d, 2 * d);
      double[] scale = new double[d];
      for (int i = 0; i < d; i++) {
        scale[i] = Math.sqrt(Math.sqrt(1 - Math.pow(0.999, t + 1)) / (Math.sqrt(v[i]) + 1e-8));
      }
      for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
          h[i][j] *= scale[i] * scale[j];
        }
      }
      double top = 0;
      for (double e : jacobiEigenvalues(h)) {
        top = Math.abs(e) > Math.abs(top) ? e : top;
      }
      assertThat(top).isPositive();
      assertThat(sink[0].sent.get(t).get("sharpness")).as("step %d", t).isCloseTo(top, within(1e-4 * top));
    }
  }

  /** Copies the updater's whole state at each iterationDone (after the update). */
  static final class StateCapture extends org.deeplearning4j.optimize.api.BaseTrainingListener {
    final java.util.List<double[]> states = new java.util.ArrayList<>();

    @Override
    public void iterationDone(org.deeplearning4j.nn.api.Model model, int iteration, int epoch) {
      states.add(((MultiLayerNetwork) model).getUpdater().getStateViewArray().dup().toDoubleVector());
    }
  }

  /**
   * On the tiny MLP, the sent sharpness equals the top eigenvalue (in magnitude) of the Hessian of
   * the probe loss at w_{t+1}, built here from second differences of the score and diagonalised
   * by Jacobi rotations.
   */
  @Test
  void listenerSharpnessMatchesTheHessianOfTheProbeLoss() {
    MultiLayerNetwork net = TinyNets.mlp(TinyNets.updater("sgd", 0.05), DataType.DOUBLE);
    DataSet probe = TinyNets.batch(77, DataType.DOUBLE);
    ErgowatchListener.Builder b = ErgowatchListener.builder().run("s").level(Level.BASIC).sharpness(3, probe, 300);
    CapturingSink[] sink = new CapturingSink[1];
    ErgowatchListener listener = CapturingSink.listener(b, sink);
    Capture capture = new Capture();
    net.addListeners(capture, listener);
    MultiLayerNetwork twin = net.clone();
    for (int t = 0; t < 4; t++) {
      net.fit(TinyNets.batch(200 + t, DataType.DOUBLE));
    }
    for (int t = 0; t < 4; t++) {
      Sent s = sink[0].sent.get(t);
      if (t % 3 != 0) {
        assertThat(s.values()).doesNotContainKey("sharpness");
        continue;
      }
      double[] w = capture.seen.get(t).wNext();
      double[][] h = hessian(w, x -> {
        twin.setParams(Nd4j.create(x, new long[] {1, x.length}, DataType.DOUBLE));
        return twin.score(probe);
      });
      double top = 0;
      for (double e : jacobiEigenvalues(h)) {
        top = Math.abs(e) > Math.abs(top) ? e : top;
      }
      assertThat(s.get("sharpness")).as("step %d", t).isCloseTo(top, within(1e-4 * Math.abs(top)));
    }
    // the training network itself was not disturbed: its losses are those of a run without sharpness
    MultiLayerNetwork plain = TinyNets.mlp(TinyNets.updater("sgd", 0.05), DataType.DOUBLE);
    for (int t = 0; t < 4; t++) {
      plain.fit(TinyNets.batch(200 + t, DataType.DOUBLE));
    }
    assertThat(plain.params().toDoubleVector()).containsExactly(net.params().toDoubleVector());
  }

  private static double[][] hessian(double[] w, java.util.function.ToDoubleFunction<double[]> f) {
    int d = w.length;
    double h = 1e-4;
    double[][] out = new double[d][d];
    for (int i = 0; i < d; i++) {
      for (int j = i; j < d; j++) {
        double[] pp = w.clone();
        double[] pm = w.clone();
        double[] mp = w.clone();
        double[] mm = w.clone();
        pp[i] += h; pp[j] += h;
        pm[i] += h; pm[j] -= h;
        mp[i] -= h; mp[j] += h;
        mm[i] -= h; mm[j] -= h;
        out[i][j] = out[j][i] = (f.applyAsDouble(pp) - f.applyAsDouble(pm) - f.applyAsDouble(mp)
            + f.applyAsDouble(mm)) / (4 * h * h);
      }
    }
    return out;
  }

  /** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations. */
  private static double[] jacobiEigenvalues(double[][] m) {
    int n = m.length;
    double[][] a = new double[n][];
    for (int i = 0; i < n; i++) {
      a[i] = m[i].clone();
    }
    for (int sweep = 0; sweep < 100; sweep++) {
      double off = 0;
      for (int p = 0; p < n; p++) {
        for (int q = p + 1; q < n; q++) {
          off += a[p][q] * a[p][q];
        }
      }
      if (off < 1e-24) {
        break;
      }
      for (int p = 0; p < n; p++) {
        for (int q = p + 1; q < n; q++) {
          if (Math.abs(a[p][q]) < 1e-300) {
            continue;
          }
          double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
          double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
          if (theta == 0) {
            t = 1;
          }
          double c = 1 / Math.sqrt(t * t + 1);
          double s = t * c;
          for (int k = 0; k < n; k++) {
            double akp = a[k][p];
            double akq = a[k][q];
            a[k][p] = c * akp - s * akq;
            a[k][q] = s * akp + c * akq;
          }
          for (int k = 0; k < n; k++) {
            double apk = a[p][k];
            double aqk = a[q][k];
            a[p][k] = c * apk - s * aqk;
            a[q][k] = s * apk + c * aqk;
          }
        }
      }
    }
    double[] e = new double[n];
    for (int i = 0; i < n; i++) {
      e[i] = a[i][i];
    }
    return e;
  }
}
