package io.ergowatch.monitor.analytics;

/**
 * Thresholds of the analytics, with the defaults of docs/math.md. Configurable; validated
 * where they are read from configuration.
 *
 * @param warmupSteps steps before any verdict but DIVERGED (200)
 * @param evaluateEvery records between verdict evaluations (20)
 * @param divergenceWindow losses in the median of the DIVERGED rule (200)
 * @param divergenceFactor how many times the best median counts as blown up (10)
 * @param divergenceEvaluations consecutive evaluations needed (3)
 * @param burnInLrChange relative lr change that restarts the ergodic means (0.10)
 */
public record AnalyticsSettings(
    int warmupSteps,
    int evaluateEvery,
    int divergenceWindow,
    double divergenceFactor,
    int divergenceEvaluations,
    double burnInLrChange) {

  public static AnalyticsSettings defaults() {
    return new AnalyticsSettings(200, 20, 200, 10.0, 3, 0.10);
  }
}
