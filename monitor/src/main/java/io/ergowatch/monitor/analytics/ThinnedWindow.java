package io.ergowatch.monitor.analytics;

import java.util.Arrays;

/**
 * Every series of a run (and the per-record derived quantities), sampled every
 * {@code stride}-th record, for the last two windows. The stride follows τ̂ (⌈τ̂/4⌉,
 * docs/math.md §4), which keeps about 200 samples per window whatever W is: memory and the
 * cost of an evaluation stay bounded while W grows to 16384 records.
 *
 * <p>Rows are records, columns are series; an absent value is NaN. No allocation after the
 * columns have been sized.
 */
final class ThinnedWindow {
  private final int capacity;
  private final long[] record;
  private double[][] columns = new double[0][];
  private int head;
  private int size;

  ThinnedWindow(int capacity) {
    this.capacity = capacity;
    this.record = new long[capacity];
  }

  void ensureColumns(int n) {
    if (n > columns.length) {
      int old = columns.length;
      columns = Arrays.copyOf(columns, n);
      for (int c = old; c < n; c++) {
        columns[c] = new double[capacity];
        Arrays.fill(columns[c], Double.NaN);
      }
    }
  }

  int columns() {
    return columns.length;
  }

  /** Starts a row for a record: every column is NaN until set. */
  int beginRow(long recordIndex) {
    int row = head;
    head = (head + 1) % capacity;
    size = Math.min(size + 1, capacity);
    record[row] = recordIndex;
    for (double[] col : columns) {
      col[row] = Double.NaN;
    }
    return row;
  }

  void set(int row, int column, double value) {
    columns[column][row] = value;
  }

  /**
   * Copies the finite samples of a column whose record index lies in (from, to] into
   * {@code dst}, oldest first; returns how many.
   */
  int copy(int column, long from, long to, double[] dst) {
    if (column >= columns.length) {
      return 0;
    }
    double[] col = columns[column];
    int first = firstAfter(from);
    int end = firstAfter(to);
    int k = 0;
    int oldest = head - size + capacity;
    for (int i = first; i < end; i++) {
      double v = col[(oldest + i) % capacity];
      if (!Double.isNaN(v)) {
        dst[k++] = v;
      }
    }
    return k;
  }

  /**
   * The position, counted from the oldest row, of the first row whose record index is above
   * {@code recordIndex}: rows are in record order, so a window is a contiguous run of rows and
   * a binary search finds its ends (an evaluation copies dozens of columns).
   */
  private int firstAfter(long recordIndex) {
    int lo = 0;
    int hi = size;
    int oldest = head - size + capacity;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (record[(oldest + mid) % capacity] <= recordIndex) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /**
   * Copies the rows in (from, to] where both columns are finite into two aligned arrays;
   * returns how many.
   */
  int copyPairs(int a, int b, long from, long to, double[] dstA, double[] dstB) {
    if (a >= columns.length || b >= columns.length) {
      return 0;
    }
    int k = 0;
    int first = firstAfter(from);
    int end = firstAfter(to);
    int oldest = head - size + capacity;
    for (int i = first; i < end; i++) {
      int row = (oldest + i) % capacity;
      double x = columns[a][row];
      double y = columns[b][row];
      if (Double.isFinite(x) && Double.isFinite(y)) {
        dstA[k] = x;
        dstB[k] = y;
        k++;
      }
    }
    return k;
  }

  int capacity() {
    return capacity;
  }
}
