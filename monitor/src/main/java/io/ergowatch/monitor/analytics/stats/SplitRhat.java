package io.ergowatch.monitor.analytics.stats;

/**
 * Basic split-R̂ across the runs of one job (seeds), on their tail losses (docs/math.md §4: a
 * job has converged when R̂ &lt; 1.01). Each chain is split in halves, so that a chain drifting
 * within itself also inflates R̂ (Gelman et al., BDA3 §11.4; Vehtari et al. 2021, without their
 * rank normalisation and folding).
 *
 * <pre>{@code
 * double[][] tails = {seed1Tail, seed2Tail, seed3Tail};   // each at least n long
 * double rhat = SplitRhat.of(tails, n);                   // chains[j][0..n) are read
 * boolean mixed = rhat < 1.01;
 * }</pre>
 *
 * <p>Never allocates; data never makes it throw.
 */
public final class SplitRhat {
  private SplitRhat() {}

  /**
   * Split-R̂ of the m chains {@code chains[j][0..n)}.
   *
   * <p>Each chain gives two split chains of n' = ⌊n/2⌋ values, {@code [0, n')} and
   * {@code [n − n', n)} (for odd n the middle value is left out), M = 2m in all, with means θ̄_j
   * and sample variances s_j² (divisor n' − 1). With W = (1/M) Σ s_j², B = n'/(M − 1) Σ (θ̄_j − θ̄)²
   * (θ̄ the mean of the θ̄_j) and var⁺ = ((n' − 1)/n')·W + B/n':
   *
   * <pre>
   *   R̂ = √(var⁺ / W).
   * </pre>
   *
   * Two chains N(±δ/2, 1) give √(1 + δ²/3) as n → ∞ (docs/math.md §6.8).
   *
   * <p>Degenerate input, documented: fewer than 2 chains, or n &lt; 4 (split chains of fewer than
   * 2 values), gives NaN; every split chain constant (W = 0) gives 1.0 if they are all equal
   * and +Infinity otherwise. A NaN in a chain gives NaN.
   *
   * @throws IllegalArgumentException if a chain is shorter than n or n is negative
   */
  public static double of(double[][] chains, int n) {
    for (int j = 0; j < chains.length; j++) {
      if (n < 0 || n > chains[j].length) {
        throw new IllegalArgumentException(
            "n = " + n + " is outside [0, chains[" + j + "].length = " + chains[j].length + "]");
      }
    }
    int m = chains.length;
    if (m < 2 || n < 4) {
      return Double.NaN;
    }
    int half = n / 2;
    int secondHalf = n - half; // where the second split chain starts
    int splits = 2 * m;
    double grand = 0;
    double lowestMean = Double.POSITIVE_INFINITY;
    double highestMean = Double.NEGATIVE_INFINITY;
    for (double[] chain : chains) {
      double first = Moments.mean(chain, 0, half);
      double second = Moments.mean(chain, secondHalf, n);
      grand += first + second;
      lowestMean = Math.min(lowestMean, Math.min(first, second));
      highestMean = Math.max(highestMean, Math.max(first, second));
    }
    grand /= splits;
    double within = 0;
    double between = 0;
    for (double[] chain : chains) {
      for (int split = 0; split < 2; split++) {
        int from = split == 0 ? 0 : secondHalf;
        double mean = Moments.mean(chain, from, from + half);
        within += Moments.sumOfSquares(chain, from, from + half, mean) / (half - 1);
        double d = mean - grand;
        between += d * d;
      }
    }
    double w = within / splits;
    if (w == 0) {
      // Constant split chains: compare their means exactly (grand carries rounding).
      return lowestMean == highestMean ? 1.0 : Double.POSITIVE_INFINITY;
    }
    double bOverN = between / (splits - 1); // B/n'
    double varPlus = (half - 1.0) / half * w + bOverN;
    return Math.sqrt(varPlus / w);
  }
}
