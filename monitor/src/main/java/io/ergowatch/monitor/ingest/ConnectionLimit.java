package io.ergowatch.monitor.ingest;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The max-connections admission: one atomic count, so that a burst of concurrent connects can
 * never admit more than the limit (a size check followed by an add could: every connect of the
 * burst reads the same size before any adds itself).
 */
final class ConnectionLimit {
  private final int max;
  private final AtomicInteger open = new AtomicInteger();

  ConnectionLimit(int max) {
    this.max = max;
  }

  /** Takes a slot; false (and nothing taken) when {@code max} are open. */
  boolean tryAcquire() {
    while (true) {
      int n = open.get();
      if (n >= max) {
        return false;
      }
      if (open.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** Gives back a slot taken by {@link #tryAcquire()}; call once per slot. */
  void release() {
    open.decrementAndGet();
  }

  int open() {
    return open.get();
  }

  int max() {
    return max;
  }
}
