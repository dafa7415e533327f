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
record OptimizerProfile(String name, double numerator, boolean assumed) {

  static OptimizerProfile from(Map<String, String> labels) {
    String opt = labels.getOrDefault("optimizer", "").toLowerCase(Locale.ROOT);
    double momentum = number(labels.get("momentum"), 0);
    switch (opt) {
      case "adam": case "adamw": {
        double b1 = number(labels.get("beta1"), 0.9);
        return new OptimizerProfile(opt + " (beta1=" + b1 + ")", (2 + 2 * b1) / (1 - b1), false);
      }
      case "momentum": case "heavy_ball": case "nesterov":
        return new OptimizerProfile(opt + " (momentum=" + momentum + ")", 2 * (1 + momentum), false);
      case "sgd": case "gd":
        return momentum > 0
            ? new OptimizerProfile(opt + " with momentum " + momentum, 2 * (1 + momentum), false)
            : new OptimizerProfile(opt, 2, false);
      default:
        return new OptimizerProfile(opt.isEmpty() ? "unknown" : opt, 2, true);
    }
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
