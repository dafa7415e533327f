package io.ergowatch.sim;

/** A differentiable objective f: R^d → R with its gradient, for the simulated trainers. */
public interface Objective {
  int dimension();

  double loss(double[] w);

  /** Writes ∇f(w) into {@code g}. */
  void gradient(double[] w, double[] g);

  /** ½ Σ h_i w_i² (docs/math.md §6.2 and §6.4). */
  static Objective quadratic(double... h) {
    double[] hh = h.clone();
    return new Objective() {
      @Override
      public int dimension() {
        return hh.length;
      }

      @Override
      public double loss(double[] w) {
        double s = 0;
        for (int i = 0; i < hh.length; i++) {
          s += 0.5 * hh[i] * w[i] * w[i];
        }
        return s;
      }

      @Override
      public void gradient(double[] w, double[] g) {
        for (int i = 0; i < hh.length; i++) {
          g[i] = hh[i] * w[i];
        }
      }
    };
  }

  /** The scalar two-layer network ½(ab − y)² (docs/math.md §1 and §6.9): w = (a, b). */
  static Objective twoLayerScalar(double y) {
    return new Objective() {
      @Override
      public int dimension() {
        return 2;
      }

      @Override
      public double loss(double[] w) {
        double r = w[0] * w[1] - y;
        return 0.5 * r * r;
      }

      @Override
      public void gradient(double[] w, double[] g) {
        double r = w[0] * w[1] - y;
        g[0] = r * w[1];
        g[1] = r * w[0];
      }
    };
  }

  /** h_i spread geometrically over [lo, hi]. */
  static double[] spectrum(int d, double lo, double hi) {
    double[] h = new double[d];
    for (int i = 0; i < d; i++) {
      h[i] = lo * Math.pow(hi / lo, d == 1 ? 0 : (double) i / (d - 1));
    }
    return h;
  }
}
