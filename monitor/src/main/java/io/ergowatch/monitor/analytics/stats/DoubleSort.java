package io.ergowatch.monitor.analytics.stats;

/**
 * In-place sorting and selection of {@code double} ranges that allocate nothing.
 *
 * <p>Why not {@link java.util.Arrays#sort(double[], int, int)}: since JDK 14 it may allocate a
 * work buffer (it merges pre-sorted runs), and the routines of this package promise no
 * allocation on their hot path. Both methods here are introspective: quicksort/quickselect with a
 * three-way (Dijkstra) partition, so runs of ties cost one pass, a median-of-three pivot, and a
 * heapsort fallback once the partition depth exceeds {@code 2·log2(n)}, which bounds the worst
 * case by O(n log n) on any input (adversarial orders included), deterministically.
 *
 * <p>NaN-free input is required for a sorted result; with a NaN the methods still terminate, in
 * the same time bounds, but the order they leave is unspecified.
 */
final class DoubleSort {
  private static final int INSERTION_THRESHOLD = 24;

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
      long bounds = partition(a, lo, hi);
      int lt = (int) (bounds >>> 32);
      int gt = (int) bounds;
      if (k < lt) {
        hi = lt - 1;
      } else if (k > gt) {
        lo = gt + 1;
      } else {
        return a[k];
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
      long bounds = partition(a, lo, hi);
      int lt = (int) (bounds >>> 32);
      int gt = (int) bounds;
      // Recurse into the smaller side, loop on the larger: the stack stays O(log n).
      if (lt - lo < hi - gt) {
        introsort(a, lo, lt - 1, depth);
        lo = gt + 1;
      } else {
        introsort(a, gt + 1, hi, depth);
        hi = lt - 1;
      }
    }
    insertionSort(a, lo, hi);
  }

  /**
   * Three-way partition of {@code a[lo..hi]} around a median-of-three pivot. Afterwards
   * a[lo..lt) < pivot, a[lt..gt] == pivot (never empty: the pivot is one of the values) and
   * a(gt..hi] > pivot; returns lt and gt packed as {@code lt << 32 | gt}, so nothing is allocated.
   */
  private static long partition(double[] a, int lo, int hi) {
    double pivot = medianOfThree(a[lo], a[(lo + hi) >>> 1], a[hi]);
    int lt = lo;
    int i = lo;
    int gt = hi;
    while (i <= gt) {
      double v = a[i];
      if (v < pivot) {
        swap(a, lt++, i++);
      } else if (v > pivot) {
        swap(a, i, gt--);
      } else {
        i++;
      }
    }
    return ((long) lt << 32) | (gt & 0xFFFF_FFFFL);
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

  private static double medianOfThree(double x, double y, double z) {
    if (x < y) {
      return y < z ? y : (x < z ? z : x);
    }
    return x < z ? x : (y < z ? z : y);
  }

  private static void swap(double[] a, int i, int j) {
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
