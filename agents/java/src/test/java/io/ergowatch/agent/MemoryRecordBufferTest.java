package io.ergowatch.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class MemoryRecordBufferTest {

  private static List<Long> drainSteps(MemoryRecordBuffer b, int series) {
    PendingRecord r = new PendingRecord(series + 1);
    List<Long> steps = new ArrayList<>();
    while (b.take(r)) {
      steps.add(r.step);
    }
    return steps;
  }

  @Test
  void handsOutRecordsInCallOrderWithTheirValues() {
    MemoryRecordBuffer b = new MemoryRecordBuffer(8, 3);
    b.put(10, 100, new double[] {1.0, 2.0, 3.0});
    b.put(11, 101, new double[] {Double.NaN, Double.POSITIVE_INFINITY, -0.0});

    PendingRecord r = new PendingRecord(4);
    assertThat(b.take(r)).isTrue();
    assertThat(r.position).isZero();
    assertThat(r.step).isEqualTo(10);
    assertThat(r.timeNanos).isEqualTo(100);
    assertThat(r.count).isEqualTo(3);
    assertThat(r.ids).startsWith(0, 1, 2);
    assertThat(r.values).startsWith(1.0, 2.0, 3.0);

    assertThat(b.take(r)).isTrue();
    assertThat(r.position).isEqualTo(1);
    assertThat(Double.doubleToRawLongBits(r.values[0])).isEqualTo(Double.doubleToRawLongBits(Double.NaN));
    assertThat(r.values[1]).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(Double.doubleToRawLongBits(r.values[2])).isEqualTo(Double.doubleToRawLongBits(-0.0));

    assertThat(b.take(r)).isFalse();
    assertThat(b.hasPending()).isFalse();
    assertThat(b.droppedCount()).isZero();
    assertThat(b.recordedCount()).isEqualTo(2);
  }

  @Test
  void sparseRecordCarriesOnlyItsIdsInAscendingOrder() {
    MemoryRecordBuffer b = new MemoryRecordBuffer(4, 70); // two mask words
    b.put(5, 0, new int[] {69, 2, 64}, new double[] {6.9, 0.2, 6.4}, 3);
    PendingRecord r = new PendingRecord(71);
    assertThat(b.take(r)).isTrue();
    assertThat(r.count).isEqualTo(3);
    assertThat(r.ids).startsWith(2, 64, 69);
    assertThat(r.values).startsWith(0.2, 6.4, 6.9);
  }

  @Test
  void sparseRecordDoesNotInheritValuesOfTheSlotsPreviousRecord() {
    MemoryRecordBuffer b = new MemoryRecordBuffer(1, 3);
    b.put(1, 0, new double[] {1, 2, 3});
    b.discardAll();
    b.put(2, 0, new int[] {1}, new double[] {9}, 1);
    PendingRecord r = new PendingRecord(4);
    assertThat(b.take(r)).isTrue();
    assertThat(r.count).isEqualTo(1);
    assertThat(r.ids[0]).isEqualTo(1);
    assertThat(r.values[0]).isEqualTo(9.0);
  }

  @Test
  void whenFullDropsTheOldestUnsentRecordsAndCountsThem() {
    MemoryRecordBuffer b = new MemoryRecordBuffer(4, 1);
    for (int i = 0; i < 10; i++) {
      b.put(i, 0, new double[] {i});
    }
    // Counted before the consumer even looks (it does not read while the monitor is away).
    assertThat(b.droppedCount()).isEqualTo(6);
    assertThat(drainSteps(b, 1)).containsExactly(6L, 7L, 8L, 9L);
    assertThat(b.droppedCount()).isEqualTo(6);
    assertThat(b.consumedPosition()).isEqualTo(10);
  }

  @Test
  void overwriteWithinOneLapIsCountedWhenTheConsumerPassesIt() {
    MemoryRecordBuffer b = new MemoryRecordBuffer(4, 1);
    PendingRecord r = new PendingRecord(2);
    for (int i = 0; i < 3; i++) {
      b.put(i, 0, new double[] {i});
    }
    assertThat(b.take(r)).isTrue(); // step 0 taken
    for (int i = 3; i < 6; i++) {
      b.put(i, 0, new double[] {i}); // position 5 overwrites position 1
    }
    assertThat(b.droppedCount()).isEqualTo(1);
    assertThat(drainSteps(b, 1)).containsExactly(2L, 3L, 4L, 5L);
    assertThat(b.droppedCount()).isEqualTo(1);
  }

  @Test
  void discardAllDropsAndCountsEverythingPending() {
    MemoryRecordBuffer b = new MemoryRecordBuffer(8, 1);
    for (int i = 0; i < 5; i++) {
      b.put(i, 0, new double[] {i});
    }
    assertThat(b.discardAll()).isEqualTo(5);
    assertThat(b.droppedCount()).isEqualTo(5);
    assertThat(b.hasPending()).isFalse();
    assertThat(b.take(new PendingRecord(2))).isFalse();
  }

  /**
   * Several producers race a consumer on a tiny ring so that slots are overwritten while being
   * read. Every record handed out must be whole (its values derive from its step), each
   * producer's records come out in its order, and taken + dropped = put.
   */
  @Test
  void concurrentProducersNeverProduceTornOrDuplicatedRecordsAndEveryPositionIsAccounted()
      throws Exception {
    int producers = 3;
    int perProducer = 200_000;
    int series = 5;
    MemoryRecordBuffer b = new MemoryRecordBuffer(16, series);
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int p = 0; p < producers; p++) {
      long base = (long) p * 1_000_000_000L;
      Thread t = new Thread(() -> {
        double[] v = new double[series];
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < perProducer; i++) {
          long step = base + i;
          for (int k = 0; k < series; k++) {
            v[k] = step * 8.0 + k;
          }
          b.put(step, step, v);
        }
      });
      t.start();
      threads.add(t);
    }
    AtomicBoolean done = new AtomicBoolean();
    long[] lastPerProducer = {-1, -1, -1};
    long[] taken = {0};
    List<String> problems = new ArrayList<>();
    Thread consumer = new Thread(() -> {
      PendingRecord r = new PendingRecord(series + 1);
      while (true) {
        boolean finished = done.get();
        while (b.take(r)) {
          taken[0]++;
          int producer = (int) (r.step / 1_000_000_000L);
          if (r.step <= lastPerProducer[producer]) {
            problems.add("out of order: " + r.step + " after " + lastPerProducer[producer]);
          }
          lastPerProducer[producer] = r.step;
          if (r.count != series || r.timeNanos != r.step) {
            problems.add("torn header at step " + r.step);
          }
          for (int k = 0; k < r.count; k++) {
            if (r.ids[k] != k || r.values[k] != r.step * 8.0 + k) {
              problems.add("torn values at step " + r.step);
              break;
            }
          }
        }
        if (finished) {
          return;
        }
      }
    });
    consumer.start();
    go.countDown();
    for (Thread t : threads) {
      t.join();
    }
    done.set(true);
    consumer.join();

    assertThat(problems).isEmpty();
    long total = (long) producers * perProducer;
    assertThat(b.recordedCount()).isEqualTo(total);
    assertThat(b.hasPending()).isFalse();
    assertThat(taken[0] + b.droppedCount()).isEqualTo(total);
    assertThat(taken[0]).isPositive();
  }
}
