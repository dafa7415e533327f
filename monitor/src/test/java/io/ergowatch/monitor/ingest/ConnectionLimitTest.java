package io.ergowatch.monitor.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The admission count under contention: threads that take and give back slots as fast as they
 * can never hold more than the limit at once (a check-then-act count exceeds it within a few
 * thousand rounds here), and every slot comes back.
 */
class ConnectionLimitTest {
  @Test
  void contendedAcquiresNeverExceedTheLimit() throws Exception {
    int max = 3;
    int threads = 8;
    ConnectionLimit limit = new ConnectionLimit(max);
    AtomicInteger holding = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    AtomicInteger admitted = new AtomicInteger();
    CyclicBarrier start = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < 200_000; i++) {
            if (limit.tryAcquire()) {
              admitted.incrementAndGet();
              peak.accumulateAndGet(holding.incrementAndGet(), Math::max);
              holding.decrementAndGet();
              limit.release();
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(peak.get()).isBetween(1, max);
    assertThat(admitted.get()).isPositive();
    assertThat(limit.open()).isZero();
    assertThat(limit.tryAcquire()).isTrue();
  }

  @Test
  void aFullLimitRefusesUntilASlotIsGivenBack() {
    ConnectionLimit limit = new ConnectionLimit(2);
    assertThat(limit.tryAcquire()).isTrue();
    assertThat(limit.tryAcquire()).isTrue();
    assertThat(limit.tryAcquire()).isFalse();
    assertThat(limit.open()).isEqualTo(2);
    limit.release();
    assertThat(limit.tryAcquire()).isTrue();
  }
}
