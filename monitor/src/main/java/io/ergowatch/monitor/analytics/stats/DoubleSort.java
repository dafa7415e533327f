package io.ergowatch.monitor.analytics.stats;

/**
 * In-place sorting and selection of {@code double} ranges that allocate nothing.
 *
 * <p>Why not {@link java.util.Arrays#sort(double[], int, int)}: since JDK 14 it may allocate a
 * work buffer (it merges pre-sorted runs), and the routines of this package promise no
 * allocation on their hot path. Both methods here are introspective: quicksort/quickselect with a
 * Hoare partition (two pointers that stop on keys equal to the pivot, so ties split evenly and
 * each pass swaps only misplaced pairs), a median-of-three pivot (Tukey's ninther on long
 * ranges, so that sorted, reversed and sawtooth windows split near the middle), and a heapsort
 * fallback once the partition depth exceeds {@code 2·log2(n)}, which bounds the worst case by
 * O(n log n) on any input (adversarial orders included), deterministically.
 *
 * <p>Why not a three-way (Dijkstra) partition, as before: it swaps every element above the
 * pivot, and on a reversed run (a falling loss window) its swaps scramble the range into a
 * pattern on which median-of-three keeps choosing poor pivots until the heapsort fallback;
 * the median of a 16 384-loss window took 20–40 ns per value (bench/README.md).
 *
 * <p>NaN-free input is required for a sorted result; with a NaN the methods still terminate, in
 * the same time bounds, but the order they leave is unspecified.
 */
final class DoubleSort {
  private static final int INSERTION_THRESHOLD = 24;
  private static final int NINTHER_THRESHOLD = 128;

  private DoubleSort() {}

  /** Sorts {@code a[from..to)} ascending. */
  static void sort(double[] a, int from, int to) {
    if (to - from < 2) {
      return;
    }
    introsort(a, from, to - 1, depthBudget(to - from));
  }

  /**
   * Rearranges {@code a[from..to)} so that {@code a[k]} holds the value it would hold if the
   * range were sorted, everything before it is {@code <=} and everything after it {@code >=};
   * returns {@code a[k]}. Average O(n), worst case O(n log n).
   */
  static double select(double[] a, int from, int to, int k) {
    int lo = from;
    int hi = to - 1;
    int budget = depthBudget(to - from);
    while (hi - lo >= INSERTION_THRESHOLD) {
      if (budget-- == 0) {
        heapsort(a, lo, hi + 1);
        return a[k];
      }
      int j = partition(a, lo, hi);
      if (k <= j) {
        hi = j;
      } else {
        lo = j + 1;
      }
    }
    insertionSort(a, lo, hi);
    return a[k];
  }

  private static int depthBudget(int n) {
    return 2 * (32 - Integer.numberOfLeadingZeros(n));
  }

  private static void introsort(double[] a, int lo, int hi, int depth) {
    while (hi - lo >= INSERTION_THRESHOLD) {
      if (depth-- == 0) {
        heapsort(a, lo, hi + 1);
        return;
      }
      int j = partition(a, lo, hi);
      // Recurse into the smaller side, loop on the larger: the stack stays O(log n).
      if (j - lo < hi - j) {
        introsort(a, lo, j, depth);
        lo = j + 1;
      } else {
        introsort(a, j + 1, hi, depth);
        hi = j;
      }
    }
    insertionSort(a, lo, hi);
  }

  /**
   * Hoare partition of {@code a[lo..hi]} ({@code hi - lo >= 2}): afterwards every value of
   * a[lo..j] is {@code <=} the pivot and every value of a(j..hi] is {@code >=} it, with
   * {@code lo <= j < hi}, so both sides shrink. The pivot is moved to the middle first: the
   * scan from the left then stops at it, and a pivot at the floor middle never leaves the right
   * side empty.
   */
  private static int partition(double[] a, int lo, int hi) {
    int mid = (lo + hi) >>> 1;
    int p = hi - lo >= NINTHER_THRESHOLD ? ninther(a, lo, mid, hi) : medianOfThree(a, lo, mid, hi);
    swap(a, p, mid);
    double pivot = a[mid];
    int i = lo - 1;
    int j = hi + 1;
    while (true) {
      do {
        i++;
      } while (a[i] < pivot);
      do {
        j--;
      } while (a[j] > pivot);
      if (i >= j) {
        return j;
      }
      swap(a, i, j);
    }
  }

  /** Index of the median of the medians of three spread-out triples (Tukey's ninther). */
  private static int ninther(double[] a, int lo, int mid, int hi) {
    int step = (hi - lo) / 8;
    int m1 = medianOfThree(a, lo, lo + step, lo + 2 * step);
    int m2 = medianOfThree(a, mid - step, mid, mid + step);
    int m3 = medianOfThree(a, hi - 2 * step, hi - step, hi);
    return medianOfThree(a, m1, m2, m3);
  }

  /** Sorts {@code a[lo..hi]} (inclusive). */
  private static void insertionSort(double[] a, int lo, int hi) {
    for (int i = lo + 1; i <= hi; i++) {
      double v = a[i];
      int j = i - 1;
      while (j >= lo && a[j] > v) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = v;
    }
  }

  /** Sorts {@code a[from..to)}. */
  private static void heapsort(double[] a, int from, int to) {
    int n = to - from;
    for (int i = n / 2 - 1; i >= 0; i--) {
      siftDown(a, from, i, n);
    }
    for (int end = n - 1; end > 0; end--) {
      swap(a, from, from + end);
      siftDown(a, from, 0, end);
    }
  }

  private static void siftDown(double[] a, int base, int root, int n) {
    double v = a[base + root];
    int i = root;
    while (true) {
      int child = 2 * i + 1;
      if (child >= n) {
        break;
      }
      if (child + 1 < n && a[base + child + 1] > a[base + child]) {
        child++;
      }
      if (!(a[base + child] > v)) {
        break;
      }
      a[base + i] = a[base + child];
      i = child;
    }
    a[base + i] = v;
  }

  /** Index of the median of a[i], a[j], a[k]. */
  private static int medianOfThree(double[] a, int i, int j, int k) {
    double x = a[i];
    double y = a[j];
    double z = a[k];
    if (x < y) {
      return y < z ? j : (x < z ? k : i);
    }
    return x < z ? i : (y < z ? k : j);
  }

  private static void swap(double[] a, int i, int j) {
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
