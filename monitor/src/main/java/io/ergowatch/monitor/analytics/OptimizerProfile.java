package io.ergowatch.monitor.analytics;

import java.util.Locale;
import java.util.Map;

/**
 * The stability threshold of an optimizer (docs/math.md §4): the critical sharpness
 * S_crit(η) above which a minimum is linearly unstable. Read from HELLO labels:
 * {@code optimizer} = sgd | gd | momentum | heavy_ball | nesterov | adam | adamw, with
 * {@code momentum} (β) and {@code beta1} (β₁, default 0.9) where they apply.
 * <ul>
 *   <li>SGD / GD: 2/η;
 *   <li>heavy ball (SGD with momentum β): 2(1+β)/η;
 *   <li>Adam, preconditioned sharpness: (2+2β₁)/((1−β₁)η), 38/η for β₁ = 0.9.
 * </ul>
 * An unknown or missing optimizer is treated as SGD, and the reasons say so.
 */
record OptimizerProfile(String name, double numerator, boolean assumed, double beta, boolean adaptive) {

  static OptimizerProfile from(Map<String, String> labels) {
    String opt = labels.getOrDefault("optimizer", "").toLowerCase(Locale.ROOT);
    double momentum = number(labels.get("momentum"), 0);
    switch (opt) {
      case "adam": case "adamw": {
        double b1 = number(labels.get("beta1"), 0.9);
        return new OptimizerProfile(opt + " (beta1=" + b1 + ")", (2 + 2 * b1) / (1 - b1), false, clampBeta(b1), true);
      }
      case "momentum": case "heavy_ball": case "nesterov":
        return new OptimizerProfile(opt + " (momentum=" + momentum + ")", 2 * (1 + momentum), false,
            clampBeta(momentum), false);
      case "sgd": case "gd":
        return momentum > 0
            ? new OptimizerProfile(opt + " with momentum " + momentum, 2 * (1 + momentum), false, clampBeta(momentum),
                false)
            : new OptimizerProfile(opt, 2, false, 0, false);
      default:
        return new OptimizerProfile(opt.isEmpty() ? "unknown" : opt, 2, true, clampBeta(momentum), false);
    }
  }

  /** A momentum usable in Π's z-iterate (math.md §2): [0, 0.999]; anything else is 0. */
  private static double clampBeta(double b) {
    return b > 0 && b < 1 ? Math.min(b, 0.999) : 0;
  }

  /**
   * The factor of the forecast's excess (1+β)‖u‖²/(4η): 1 + β for SGD and heavy ball; NaN for
   * adaptive optimizers, whose excess needs the preconditioned ‖u‖²_P the agents do not send
   * (math.md §5, forecast).
   */
  double forecastFactor() {
    return adaptive ? Double.NaN : 1 + beta;
  }

  /**
   * The EMA rate a of the agents' centre (HELLO label {@code ema_alpha}); without it the agent's
   * default: 1/50 for the DL4J listener, 1/1000 for the PyTorch agent and anything else.
   */
  static double emaAlpha(Map<String, String> labels) {
    double a = number(labels.get("ema_alpha"), Double.NaN);
    if (a > 0 && a <= 1) {
      return a;
    }
    return "dl4j".equals(labels.get("framework")) ? 0.02 : 0.001;
  }

  static boolean emaAlphaGiven(Map<String, String> labels) {
    double a = number(labels.get("ema_alpha"), Double.NaN);
    return a > 0 && a <= 1;
  }

  /** S_crit at learning rate η. */
  double criticalSharpness(double lr) {
    return numerator / lr;
  }

  private static double number(String s, double dflt) {
    if (s == null) {
      return dflt;
    }
    try {
      double v = Double.parseDouble(s.trim());
      return Double.isFinite(v) ? v : dflt;
    } catch (NumberFormatException e) {
      return dflt;
    }
  }
}
