package io.ergowatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * record() allocates nothing in steady state: measured with the JVM's per-thread allocation
 * counter around 100,000 calls (a property, not a timing). The bound leaves room for the
 * counter's own bookkeeping and a rare TLAB refill, far below the 100,000 × 24+ bytes that one
 * allocation per call would cost.
 */
class RecordAllocationTest {
  private static final long BOUND_BYTES = 64 * 1024;
  private com.sun.management.ThreadMXBean threads;
  private ErgowatchAgent agent;
  private FakeMonitor monitor;

  @BeforeEach
  void setUp() throws Exception {
    assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean,
        "per-thread allocation counter not available");
    threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
    monitor = FakeMonitor.started();
    agent = ErgowatchAgent.builder().address(monitor.address()).run("alloc").series("loss", "grad_sq", "lr")
        .bufferCapacity(4_096).closeTimeout(Duration.ofMillis(200)).build();
    Await.until("connected", agent::connected);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (agent != null) {
      agent.close();
    }
    if (monitor != null) {
      monitor.close();
    }
  }

  @Test
  void recordOfAllSeriesDoesNotAllocate() {
    double[] v = {1, 2, 3};
    for (int i = 0; i < 200_000; i++) { // warm up: JIT, ThreadLocals, lazy init
      v[0] = i;
      agent.record(i, v);
    }
    long before = threads.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < 100_000; i++) {
      v[0] = i;
      agent.record(i, v);
    }
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertThat(allocated).isLessThan(BOUND_BYTES);
  }

  /**
   * With a spool and no monitor, record() also checks the ring's backlog and wakes the network
   * thread to spill (which writes files, allocating on its own thread): still nothing allocated
   * by the caller.
   */
  @Test
  void recordDoesNotAllocateWhileTheNetworkThreadSpills(@TempDir Path spoolRoot) throws Exception {
    ErgowatchAgent spooling = ErgowatchAgent.builder().address("127.0.0.1:" + FakeMonitor.closedPort())
        .run("alloc-spool").series("loss", "grad_sq", "lr").bufferCapacity(4_096)
        .spool(spoolRoot, 4L << 20).closeTimeout(Duration.ofMillis(50)).build();
    try {
      double[] v = {1, 2, 3};
      for (int i = 0; i < 200_000; i++) {
        v[0] = i;
        spooling.record(i, v);
      }
      long before = threads.getCurrentThreadAllocatedBytes();
      for (int i = 0; i < 100_000; i++) {
        v[0] = i;
        spooling.record(i, v);
      }
      long allocated = threads.getCurrentThreadAllocatedBytes() - before;
      assertThat(allocated).isLessThan(BOUND_BYTES);
      Await.until("some records spooled", () -> spooling.spooledCount() > 0);
    } finally {
      spooling.close();
    }
  }

  @Test
  void sparseRecordDoesNotAllocate() {
    int[] ids = {2, 0};
    double[] v = {0.1, 1};
    for (int i = 0; i < 200_000; i++) {
      agent.record(i, ids, v, 2);
    }
    long before = threads.getCurrentThreadAllocatedBytes();
    for (int i = 0; i < 100_000; i++) {
      agent.record(i, ids, v, 2);
    }
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertThat(allocated).isLessThan(BOUND_BYTES);
  }
}
