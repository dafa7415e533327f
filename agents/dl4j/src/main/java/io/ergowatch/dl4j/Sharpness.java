package io.ergowatch.dl4j;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.GaussianDistribution;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Sharpness: the top (largest in magnitude) Hessian eigenvalue of a probe loss, by power iteration
 * on finite-difference Hessian-vector products Hv ≈ (∇f(w + εv) − ∇f(w − εv)) / 2ε, v a unit
 * vector. A fixed number of iterations, warm-started from the previous estimate's vector. The
 * gradient comes from a {@link GradientAt} (for DL4J: a twin network on a fixed probe batch), so
 * this class is tested on closed-form quadratics. With a diagonal scaling D (for Adam, D = P^−1/2
 * with P its preconditioner) it estimates the top eigenvalue of D H D, i.e. of P⁻¹H (Cohen et
 * al., "Adaptive gradient methods at the edge of stability"). Memory: 3d (v, Hv, the probe
 * point), + d (Dv) when scaled.
 */
final class Sharpness {
  /** The mean gradient of the probe loss at w, written to out; out may be w itself (read w first). */
  interface GradientAt {
    void gradient(INDArray w, INDArray out);
  }

  private final int iterations;
  private final double eps;
  private final INDArray v;
  private final INDArray hv;
  private final INDArray x;
  private INDArray dv;

  Sharpness(long d, DataType type, int iterations, double eps, long seed) {
    if (iterations < 1) {
      throw new IllegalArgumentException("sharpness iterations must be >= 1, got " + iterations);
    }
    if (!(eps > 0)) {
      throw new IllegalArgumentException("sharpness eps must be > 0, got " + eps);
    }
    this.iterations = iterations;
    this.eps = eps;
    this.v = Nd4j.create(type, d);
    this.hv = Nd4j.create(type, d);
    this.x = Nd4j.create(type, d);
    Nd4j.getExecutioner().exec(new GaussianDistribution(v, 0.0, 1.0),
        Nd4j.getRandomFactory().getNewRandomInstance(seed));
    v.divi(Math.sqrt(Nd4j.getBlasWrapper().dot(v, v)));
  }

  /** The estimate at w (a rank-1 vector of length d); w is not modified. */
  double estimate(INDArray w, GradientAt grad) {
    return estimate(w, grad, null);
  }

  /** The top eigenvalue of D H D at w, D = diag(scale) (null: the identity). */
  double estimate(INDArray w, GradientAt grad, INDArray scale) {
    double lambda = Double.NaN;
    INDArray dir = v;
    if (scale != null) {
      if (dv == null) {
        dv = Nd4j.create(v.dataType(), v.length());
      }
      dir = dv;
    }
    for (int i = 0; i < iterations; i++) {
      if (scale != null) {
        v.mul(scale, dv);
      }
      x.assign(w);
      Nd4j.getBlasWrapper().axpy(eps, dir, x);   // x = w + εDv
      grad.gradient(x, hv);                      // hv = ∇f(w + εDv)
      x.assign(w);
      Nd4j.getBlasWrapper().axpy(-eps, dir, x);  // x = w − εDv
      grad.gradient(x, x);           // x = ∇f(w − εDv)
      hv.subi(x).divi(2 * eps);      // H Dv
      if (scale != null) {
        hv.muli(scale);              // D H D v
      }
      lambda = Nd4j.getBlasWrapper().dot(v, hv);
      double norm = Math.sqrt(Nd4j.getBlasWrapper().dot(hv, hv));
      if (!(norm > 0) || !Double.isFinite(norm)) {
        return norm == 0 ? 0.0 : Double.NaN;
      }
      v.assign(hv).divi(norm);
    }
    return lambda;
  }
}
