package io.ergowatch.monitor.analytics.stats;

/**
 * A streaming Monte-Carlo standard error of a running mean by batch means, in O(1) memory: the
 * stream is cut into consecutive batches of equal size, and the spread of the batch means tells
 * how precisely the overall mean is known, autocorrelation included (docs/math.md §4: the
 * standard error of the ergodic mean √(τ·Var/n)).
 *
 * <p>It keeps between 32 and 64 complete batches: when the 64th completes, adjacent pairs are
 * merged into 32 batches of twice the size, so the batch size grows like n/48 on average and
 * soon exceeds the correlation time of any stream it is fed for long enough. (A fixed
 * b = ⌊√n⌋ does not, which is why the per-window τ̂ comes from {@link Autocorrelation} instead.)
 *
 * <pre>{@code
 * BatchMeans ergodic = new BatchMeans();   // per series; restarted with clear() at a burn-in
 * ergodic.accept(loss);                    // per record, no allocation
 * double mean = ergodic.mean();
 * double se = ergodic.stderr();            // NaN until 8 complete batches
 * }</pre>
 *
 * <p>No allocation after construction. NaN is a legal value: one accepted makes the mean,
 * stderr and τ NaN until {@link #clear()} (the engine keeps non-finite values out, docs/math.md
 * §4). Not thread-safe. Not mergeable: batches are contiguous stretches of one stream.
 */
public final class BatchMeans {
  /** Batches kept at most; on reaching it, pairs merge into {@code MAX_BATCHES / 2}. */
  public static final int MAX_BATCHES = 64;

  /** Complete batches needed before {@link #stderr()} and {@link #tau()} answer. */
  public static final int MIN_BATCHES = 8;

  private final double[] batchMeans = new double[MAX_BATCHES];
  private int batches;
  private long batchSize = 1;
  private long inBatch;
  private double batchSum;
  private long count;
  private double sum;
  // The spread of the values (for "all equal" and τ's Var(x)) from sums of the values shifted
  // by the first one: no division per value, unlike Welford's update (which cost 40% of this
  // method per record), and, shifted, no cancellation unless the values wander many of their
  // standard deviations from where they started.
  private double shift;
  private double shiftedSum;
  private double shiftedSumSq;
  private boolean varied;

  /** Creates an empty estimator (batch size 1). */
  public BatchMeans() {}

  /** Feeds one value. */
  public void accept(double x) {
    if (count++ == 0) {
      shift = x;
    }
    sum += x;
    double d = x - shift;
    shiftedSum += d;
    shiftedSumSq += d * d;
    varied |= d != 0; // NaN != 0 too: a NaN is "varied", and its NaN reaches the sums
    batchSum += x;
    if (++inBatch == batchSize) {
      batchMeans[batches++] = batchSum / batchSize;
      batchSum = 0;
      inBatch = 0;
      if (batches == MAX_BATCHES) {
        for (int i = 0; i < MAX_BATCHES / 2; i++) {
          batchMeans[i] = 0.5 * (batchMeans[2 * i] + batchMeans[2 * i + 1]);
        }
        batches = MAX_BATCHES / 2;
        batchSize *= 2;
      }
    }
  }

  /** Values accepted since construction or {@link #clear()}. */
  public long count() {
    return count;
  }

  /** The mean of every value accepted (Σx / count, summed in order); NaN when empty. */
  public double mean() {
    return count == 0 ? Double.NaN : sum / count;
  }

  /**
   * The standard error of the mean: sd(batch means) / √(complete batches), the sd with divisor
   * (batches − 1). NaN with fewer than {@link #MIN_BATCHES} complete batches; 0 when every value
   * so far is equal. The values of the incomplete batch are left out.
   */
  public double stderr() {
    if (batches < MIN_BATCHES) {
      return Double.NaN;
    }
    if (!varied) {
      return 0.0;
    }
    if (!Double.isFinite(shiftedSum)) {
      return Double.NaN; // a NaN or an infinity, maybe still in the incomplete batch
    }
    return Math.sqrt(batchMeanVariance() / batches);
  }

  /**
   * The integrated autocorrelation time implied by the batches, batchSize·Var(batch means) /
   * Var(x), clamped to ≥ 1. NaN with fewer than {@link #MIN_BATCHES} complete batches; 1.0 when
   * every value so far is equal (the zero-variance convention of {@link Autocorrelation}).
   */
  public double tau() {
    if (batches < MIN_BATCHES) {
      return Double.NaN;
    }
    if (!varied) {
      return 1.0;
    }
    double variance = Math.max(0, shiftedSumSq - shiftedSum * (shiftedSum / count)) / (count - 1);
    return Math.max(1.0, batchSize * batchMeanVariance() / variance);
  }

  /** Complete batches held, in [32, 64) once 64 batches have been filled. */
  public int batches() {
    return batches;
  }

  /** The current batch size (a power of two). */
  public long batchSize() {
    return batchSize;
  }

  /** Forgets every value: the estimator is then as after construction. */
  public void clear() {
    batches = 0;
    batchSize = 1;
    inBatch = 0;
    batchSum = 0;
    count = 0;
    sum = 0;
    shift = 0;
    shiftedSum = 0;
    shiftedSumSq = 0;
    varied = false;
  }

  private double batchMeanVariance() {
    double mean = Moments.mean(batchMeans, 0, batches);
    return Moments.sumOfSquares(batchMeans, 0, batches, mean) / (batches - 1);
  }

  @Override
  public String toString() {
    return "BatchMeans[count=" + count + ", batches=" + batches + ", batchSize=" + batchSize
        + ", mean=" + mean() + ", stderr=" + stderr() + "]";
  }
}
