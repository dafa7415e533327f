package io.ergowatch.monitor.analytics;

/**
 * The learning rate's history as the verdict needs it (docs/math.md §4–§5): a change of more
 * than burn-in-lr-change (10%) since the last one restarts the ergodic means and the evidence;
 * a decrease is a decay phase (PROGRESSING at once, never UNSTABLE or DIVERGED), unless it only
 * returns, within a window, to where the lr was before a recent increase (the end of an lr
 * spike). A schedule that keeps decreasing stays in its decay phase between its 10% steps: for
 * twice the gap between its last two decreases, and while the lr of the last block is more than
 * 1% below that of the block 200 records earlier. Pure; one per run.
 */
final class LearningRatePhases {
  /** What a record's lr did. */
  enum Change { NONE, RESTART, DECAY }

  private final AnalyticsSettings s;
  private double current = Double.NaN;
  private double before = Double.NaN;
  private long burnInStep;
  private long evidenceStart;
  private long lastDecrease = Long.MIN_VALUE / 2;
  private long lastIncrease = Long.MIN_VALUE / 2;
  private double beforeIncrease = Double.NaN;
  private double decayFrom = Double.NaN;
  private long decayHold;

  LearningRatePhases(AnalyticsSettings settings) {
    this.s = settings;
  }

  /** Feeds record {@code rec}'s finite lr at training step {@code step}. */
  Change accept(long rec, long step, double lr, int window) {
    if (Double.isNaN(current)) {
      current = lr;
      return Change.NONE;
    }
    if (!(Math.abs(lr - current) > s.burnInLrChange() * Math.abs(current))) {
      return Change.NONE;
    }
    boolean restored = lr < current && rec - lastIncrease <= Math.max(window, s.windowMin())
        && lr >= (1 - s.burnInLrChange()) * beforeIncrease;
    boolean decay = lr < current && !restored;
    if (decay) {
      long gap = rec - lastDecrease;
      if (gap > s.windowMax()) {
        decayFrom = current; // a new decay phase (the last decrease was long ago)
        decayHold = 0;
      } else {
        decayHold = 2 * gap;
      }
      lastDecrease = rec;
    } else if (lr > current) {
      lastIncrease = rec;
      beforeIncrease = current;
    }
    before = current;
    current = lr;
    burnInStep = step;
    evidenceStart = rec - 1;
    return decay ? Change.DECAY : Change.RESTART;
  }

  /** A decrease within the last window, or within twice the gap between the last two decreases. */
  boolean decaying(long rec, int window) {
    return rec - lastDecrease <= Math.max(Math.max(window, s.windowMin()), decayHold);
  }

  /**
   * The lr of the last block is more than 1% below that of the block windowMin records earlier:
   * a schedule still decaying between two of its 10% steps (a linear decay over 6 000 steps falls
   * 3% per 200 records).
   */
  boolean falling(BlockSums blocks, long rec) {
    long to = blocks.closedBlocks();
    long back = s.windowMin() / BlockSums.BLOCK;
    if (to < back) {
      return false;
    }
    double lastN = blocks.sum(BlockSums.Sum.LR_N, to - 1, to);
    double firstN = blocks.sum(BlockSums.Sum.LR_N, to - back, to - back + 1);
    if (!(lastN > 0 && firstN > 0)) {
      return false;
    }
    double last = blocks.sum(BlockSums.Sum.LR, to - 1, to) / lastN;
    double first = blocks.sum(BlockSums.Sum.LR, to - back, to - back + 1) / firstN;
    boolean falling = last < 0.99 * first;
    if (falling && (Double.isNaN(decayFrom) || rec - lastDecrease > s.windowMax())) {
      decayFrom = first; // a decay seen before its first 10% step: it started from here
    }
    return falling;
  }

  /** The lr before the latest change. */
  double before() {
    return before;
  }

  /** Where the current decay phase started. */
  double decayFrom() {
    return decayFrom;
  }

  /** The record after which the current evidence starts (the last change). */
  long evidenceStart() {
    return evidenceStart;
  }

  /** The step of the last change: where the ergodic means restarted. */
  long burnInStep() {
    return burnInStep;
  }
}
