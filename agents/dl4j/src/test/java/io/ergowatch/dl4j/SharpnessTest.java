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
