package io.ergowatch.monitor.analytics.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * The hot paths allocate nothing: measured with the JVM's per-thread allocation counter
 * (HotSpot's {@code com.sun.management.ThreadMXBean}), over many calls, after a warm-up that
 * loads the classes. One allocation per call would show as thousands of bytes; the bound of
 * 1 KiB leaves room for nothing but the counter's own noise.
 */
class AllocationFreeTest {
  private static final int CALLS = 200;
  private static final long SLACK_BYTES = 1024;

  private final double[] x = Streams.ar1(1, 2000, 0.8);
  private final double[] y = Streams.ar1(2, 1500, 0.5);
  private final double[] scratchA = new double[2000];
  private final double[] scratchB = new double[2000];
  private final double[][] chains = {x, y};
  private final Trend.Result trend = new Trend.Result();
  private final BatchMeans batchMeans = new BatchMeans();
  private final Ewma ewma = new Ewma(0.1);
  private double sink;

  @Test
  void geyerTauAllocatesNothing() {
    assertAllocationFree(() -> sink += Autocorrelation.geyerTau(x, 2000, scratchA));
  }

  @Test
  void gewekeAllocatesNothing() {
    assertAllocationFree(() -> sink += Geweke.z(x, 2000, 4.0));
  }

  @Test
  void trendFitAllocatesNothing() {
    assertAllocationFree(
        () -> {
          Trend.fit(x, 2000, Trend.lag(2000, 9), trend);
          sink += trend.t();
        });
  }

  @Test
  void splitRhatAllocatesNothing() {
    assertAllocationFree(() -> sink += SplitRhat.of(chains, 1500));
  }

  @Test
  void w2sq1dAllocatesNothing() {
    assertAllocationFree(() -> sink += Wasserstein.w2sq1d(x, 2000, y, 1500, scratchA, scratchB));
  }

  @Test
  void quantilesAllocateNothing() {
    assertAllocationFree(
        () -> {
          sink += Quantiles.quantile(x, 2000, 0.05, scratchA);
          System.arraycopy(y, 0, scratchB, 0, 1500);
          sink += Quantiles.select(scratchB, 1500, 700);
        });
  }

  @Test
  void estimatorsAllocateNothing() {
    assertAllocationFree(
        () -> {
          for (int i = 0; i < 1000; i++) {
            batchMeans.accept(x[i]);
            ewma.accept(x[i]);
          }
          sink += batchMeans.stderr() + batchMeans.tau() + batchMeans.mean() + ewma.value();
        });
  }

  private void assertAllocationFree(Runnable call) {
    java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
    assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "HotSpot allocation counter");
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
    assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
    for (int i = 0; i < 20; i++) {
      call.run();
    }
    long before = threads.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < CALLS; i++) {
      call.run();
    }
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertThat(allocated).as("bytes allocated over %d calls", CALLS).isLessThan(SLACK_BYTES);
  }
}
