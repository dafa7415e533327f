package io.ergowatch.monitor.analytics;

/**
 * The run-level statistics of the latest window evaluation (docs/math.md §3–§5), immutable.
 * NaN means "not computed": the run does not send the series it needs, or there is no
 * evaluation yet.
 *
 * @param evaluations window evaluations so far
 * @param evaluatedAtStep training step of the latest one
 * @param window the window W in records
 * @param tau τ̂ of the loss (Geyer), the one τ̂ every statistic of the evaluation uses
 * @param windowTooShort τ̂ > W_max/50: ESS ≥ 50 cannot be reached
 * @param lossStationary the loss test of math.md §5
 * @param lossEss ESS of the loss window
 * @param geweke Geweke z of the loss window
 * @param trendT HAC t of the loss slope
 * @param delta relative progress per window, −slope·W/|mean|
 * @param falt fraction of sign changes of Δloss
 * @param stationarityRatio Π = −2Σ⟨u, w−c⟩/Σ‖u‖²
 * @param kappa median cos∠(u_t, u_{t−1})
 * @param r2 Σ‖u_t+u_{t+1}‖² / Σ(‖u_t‖²+‖u_{t+1}‖²)
 * @param gradientSignal window estimate of ‖G‖² (an upper estimate when not identified)
 * @param gradientSignalStderr its standard error
 * @param signalIdentified two batch sizes were available
 * @param noiseScale tr Σ estimate S
 * @param batchNoise B_noise = S/‖G‖²
 * @param updateEnergy window mean of ‖u‖² (or η²‖g‖²)
 * @param updateEnergyPeak its largest window mean so far
 * @param weightsDrift sliced W₂² between the previous and current window, normalised
 * @param weightsDriftNull the same between the halves of the current window
 * @param rsi RSI quantiles {q05, q50} per reference (index 0 ema, 1 lagged)
 * @param errorBound EB quantiles {q50, q95} per reference
 * @param alignment median γ per reference
 * @param optimalLr median η*_t = ⟨g, w − c⟩/‖g‖² per reference (the best step toward it)
 * @param lrSafe 2μ̂/L̂²
 * @param lrRatio η / lr_safe
 * @param geometryReference which reference lr_safe came from: "lagged", "ema" or ""
 * @param sharpnessRatio sharpness / S_crit(η), latest estimate
 * @param optimizer the optimizer profile used for S_crit
 */
public record RunStatistics(
    long evaluations,
    long evaluatedAtStep,
    int window,
    double tau,
    boolean windowTooShort,
    boolean lossStationary,
    double lossEss,
    double geweke,
    double trendT,
    double delta,
    double falt,
    double stationarityRatio,
    double kappa,
    double r2,
    double gradientSignal,
    double gradientSignalStderr,
    boolean signalIdentified,
    double noiseScale,
    double batchNoise,
    double updateEnergy,
    double updateEnergyPeak,
    double weightsDrift,
    double weightsDriftNull,
    double[][] rsi,
    double[][] errorBound,
    double[] alignment,
    double[] optimalLr,
    double lrSafe,
    double lrRatio,
    String geometryReference,
    double sharpnessRatio,
    String optimizer) {

  /** Names of the geometry references, by index of {@link #rsi()} and friends. */
  public static final String[] REFERENCES = {"ema", "lagged"};
  /** Quantile levels of {@link #rsi()}. */
  public static final double[] RSI_QUANTILES = {0.05, 0.5};
  /** Quantile levels of {@link #errorBound()}. */
  public static final double[] EB_QUANTILES = {0.5, 0.95};

  public RunStatistics {
    rsi = deepCopy(rsi);
    errorBound = deepCopy(errorBound);
    alignment = alignment.clone();
    optimalLr = optimalLr.clone();
  }

  @Override
  public double[] optimalLr() {
    return optimalLr.clone();
  }

  @Override
  public double[][] rsi() {
    return deepCopy(rsi);
  }

  @Override
  public double[][] errorBound() {
    return deepCopy(errorBound);
  }

  @Override
  public double[] alignment() {
    return alignment.clone();
  }

  private static double[][] deepCopy(double[][] a) {
    double[][] c = new double[a.length][];
    for (int i = 0; i < a.length; i++) {
      c[i] = a[i].clone();
    }
    return c;
  }

  static RunStatistics of(WindowStats w, OptimizerProfile profile) {
    return new RunStatistics(w.evaluations, w.atStep, w.window, w.tau, w.windowTooShort, w.lossStationary,
        w.lossEss, w.geweke, w.trendT, w.delta, w.falt, w.pi, w.kappa, w.r2, w.signal, w.signalStderr,
        w.signalIdentified, w.noiseScale, w.batchNoise, w.energy, w.energyMax, w.sw, w.swNull,
        new double[][] {{w.rsiEmaQ05, w.rsiEmaQ50}, {w.rsiRefQ05, w.rsiRefQ50}},
        new double[][] {{w.ebEmaQ50, w.ebEmaQ95}, {w.ebRefQ50, w.ebRefQ95}},
        new double[] {w.gammaEma, w.gammaRef}, new double[] {w.etaStarEma, w.etaStarRef}, w.lrSafe, w.lrRatio, w.geometryReference, w.sharpnessRatio,
        profile.name() + (profile.assumed() ? " (assumed SGD)" : ""));
  }
}
