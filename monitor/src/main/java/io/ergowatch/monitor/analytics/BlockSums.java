package io.ergowatch.monitor.analytics;

import java.util.Arrays;

/**
 * Full-resolution window sums as a ring of block partial sums (docs/math.md §4): every record
 * adds its derived quantities to the current block of {@link #BLOCK} records; a window of W
 * records is the sum of its last W/BLOCK blocks, and the same blocks grouped into batches give
 * the batch-means standard errors. Every ratio of sums (Π, R2, the gradient signal, pooled
 * RSI/EB/γ, the forecast) is formed from these sums, never from thinned rows: for a fixed
 * centre Σ(2⟨u, w−c⟩ + ‖u‖²) telescopes, and only a sum over every step keeps that.
 *
 * <p>Windows start and end on block boundaries: the core evaluates every multiple of
 * {@link #BLOCK} records and sizes windows in whole blocks. Memory: {@code capacity} blocks ×
 * {@link Sum#COUNT} doubles (about 170 KiB for the default 16384-record window, twice over).
 * O(1) per value, no allocation after construction.
 */
final class BlockSums {
  static final int BLOCK = 20;

  private final int capacity;
  private final double[] sums;
  /** Blocks completed so far; the current (open) block is number {@code closed}. */
  private long closed;
  private int inBlock;

  /** @param maxRecords the longest span a query may cover (two windows: current and previous) */
  BlockSums(int maxRecords) {
    this.capacity = maxRecords / BLOCK + 2;
    this.sums = new double[capacity * Sum.COUNT];
  }

  /** Adds {@code v} to column {@code col} of the open block. */
  void add(int col, double v) {
    sums[slot(closed) + col] += v;
  }

  /** Ends one record; closes the block after {@link #BLOCK} records. */
  void endRecord() {
    if (++inBlock == BLOCK) {
      inBlock = 0;
      closed++;
      Arrays.fill(sums, slot(closed), slot(closed) + Sum.COUNT, 0);
    }
  }

  /** Completed blocks; a record count that is a multiple of BLOCK is at a block boundary. */
  long closedBlocks() {
    return closed;
  }

  /** Blocks a query may reach back (the ring keeps this many completed blocks). */
  int reach() {
    return capacity - 1;
  }

  /** Sum of column {@code col} over completed blocks [from, to). */
  double sum(int col, long from, long to) {
    double s = 0;
    for (long b = Math.max(from, closed - reach()); b < to; b++) {
      s += sums[slot(b) + col];
    }
    return s;
  }

  /**
   * Sums of column {@code col} over {@code m} consecutive batches of whole blocks covering
   * [from, to) (the first batches take the remainder); {@code out[0..m)}.
   */
  void batches(int col, long from, long to, int m, double[] out) {
    long n = to - from;
    for (int j = 0; j < m; j++) {
      long a = from + n * j / m;
      long b = from + n * (j + 1) / m;
      out[j] = sum(col, a, b);
    }
  }

  private int slot(long block) {
    return (int) (block % capacity) * Sum.COUNT;
  }

  /** The columns: per-record quantities whose window sums the evaluation needs. */
  static final class Sum {
    /** Rows where Π's terms are defined (non-nil update, ema series present). */
    static final int PI_N = 0;
    /** −2⟨e′ − a e, v⟩: the contraction side of the (moving-centre, momentum) identity. */
    static final int PI_NUM = 1;
    /** ‖v‖² − 2a⟨e′, e⟩ + a²‖e‖²: the noise side; Π = ΣPI_NUM / ΣPI_DEN. */
    static final int PI_DEN = 2;
    /** q = ‖e′‖², whose change over the window is all that separates PI_NUM from PI_DEN. */
    static final int PI_Q = 3;
    static final int PI_QQ = 4;
    static final int R2_N = 5;
    static final int R2_NUM = 6;
    static final int R2_DEN = 7;
    static final int SIG_N = 8;
    static final int SIG_G_NUM = 9;
    static final int SIG_G_DEN = 10;
    static final int SIG_S_NUM = 11;
    static final int SIG_S_DEN = 12;
    static final int GSQ_N = 13;
    static final int GSQ = 14;
    static final int ENERGY_N = 15;
    static final int ENERGY = 16;
    static final int EMA_N = 17;
    static final int EMA_DOT = 18;
    static final int EMA_DIST = 19;
    static final int EMA_GSQ = 20;
    static final int REF_N = 21;
    static final int REF_DOT = 22;
    static final int REF_DIST = 23;
    static final int REF_GSQ = 24;
    /** Rows of the forecast: the per-step excess (1+β)‖u‖²/(4η), or η‖g‖²/4 without updates. */
    static final int FC_N = 25;
    static final int FC = 26;
    /** The loss on the forecast's rows (its window mean, the same rows). */
    static final int FC_LOSS = 27;
    /** The learning rate: a block's mean lr tells whether a schedule is still decaying. */
    static final int LR_N = 28;
    static final int LR = 29;
    /** Steps Π's rows cover: a row of a block of k steps covers k (docs/protocol.md "Blocks"). */
    static final int PI_STEPS = 30;
    static final int COUNT = 31;

    private Sum() {}
  }
}
