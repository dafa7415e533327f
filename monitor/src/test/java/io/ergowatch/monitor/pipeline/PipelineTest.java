package io.ergowatch.monitor.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

class PipelineTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private final Pipeline pipeline = new Pipeline(PipelineSettings.defaults().withPrefetch(16).withLanes(2), () -> 0L);

  @AfterEach
  void close() {
    pipeline.close();
  }

  private static Hello hello(String run, int rank, int world, long session) {
    return new Hello(run, "job", "", session, rank, world, Mode.REPLICATED, List.of("loss", "lr"), List.of());
  }

  private static Step step(long seq) {
    return Step.of(seq, seq - 1, 0, new int[] {0, 1}, new double[] {seq, 0.1});
  }

  private static Flux<Step> steps(long from, long to) {
    return Flux.range((int) from, (int) (to - from + 1)).map(i -> step(i));
  }

  private Registration open(Hello h, Disposable connection) {
    return pipeline.open(h, connection).block(TIMEOUT);
  }

  private RunSnapshot snapshot(String run) {
    return pipeline.snapshot(run).block(TIMEOUT).orElseThrow();
  }

  @Test
  void keepsOrderWithinARunAndAppliesEveryRecordOnce() {
    Registration reg = open(hello("ordered", 0, 1, 1), () -> {});
    AtomicLong last = new AtomicLong();
    StepVerifier.create(pipeline.ingest(reg, steps(1, 5000)).map(Step::seq))
        .thenConsumeWhile(seq -> last.getAndSet(seq) == seq - 1)
        .expectComplete()
        .verify(TIMEOUT);
    assertThat(last.get()).isEqualTo(5000);
    RunSnapshot s = snapshot("ordered");
    assertThat(s.steps()).isEqualTo(5000);
    assertThat(s.lastStep()).isEqualTo(4999);
    assertThat(s.loss()).isEqualTo(5000.0);
    assertThat(reg.ackedSeq()).isEqualTo(5000);
  }

  @Test
  void runsOnDifferentLanesProceedInParallelAndStayIndependent() {
    Registration a = open(hello("run-a", 0, 1, 1), () -> {});
    Registration b = open(hello("run-b", 0, 1, 1), () -> {});
    StepVerifier.create(Flux.merge(pipeline.ingest(a, steps(1, 3000)), pipeline.ingest(b, steps(1, 2000))))
        .expectNextCount(5000)
        .expectComplete()
        .verify(TIMEOUT);
    assertThat(snapshot("run-a").steps()).isEqualTo(3000);
    assertThat(snapshot("run-b").steps()).isEqualTo(2000);
  }

  @Test
  void requestsNoMoreThanDownstreamDemandPlusPrefetch() {
    Registration reg = open(hello("bp", 0, 1, 1), () -> {});
    AtomicLong requested = new AtomicLong();
    Flux<Step> source = steps(1, 1_000_000).doOnRequest(n -> requested.addAndGet(n));
    StepVerifier.create(pipeline.ingest(reg, source), 0)
        .thenRequest(5)
        .expectNextCount(5)
        .then(() -> assertThat(requested.get()).isLessThanOrEqualTo(5 + 16))
        .thenCancel()
        .verify(TIMEOUT);
    // Items queued but not delivered were never applied: the analytics saw exactly 5.
    assertThat(snapshot("bp").steps()).isEqualTo(5);
  }

  @Test
  void aStalledLaneStopsRequestsAtThePrefetchBound() throws Exception {
    Registration reg = open(hello("stalled", 0, 1, 1), () -> {});
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch blocked = new CountDownLatch(1);
    reg.lane.executor.execute(() -> {
      blocked.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    blocked.await();
    AtomicLong requested = new AtomicLong();
    Flux<Step> source = steps(1, 100_000).doOnRequest(n -> requested.addAndGet(n));
    StepVerifier.create(pipeline.ingest(reg, source)) // unbounded demand, like the ACK sampler
        .then(() -> assertThat(requested.get()).isEqualTo(16))
        .then(release::countDown)
        .expectNextCount(100_000)
        .expectComplete()
        .verify(TIMEOUT);
    assertThat(snapshot("stalled").steps()).isEqualTo(100_000);
  }

  @Test
  void resentRecordsAreCountedOnceAcrossOverlappingConnections() {
    AtomicBoolean oldClosed = new AtomicBoolean();
    Registration first = open(hello("dedup", 0, 1, 42), () -> oldClosed.set(true));
    StepVerifier.create(pipeline.ingest(first, steps(1, 100))).expectNextCount(100).verifyComplete();
    Registration second = open(hello("dedup", 0, 1, 42), () -> {});
    assertThat(oldClosed).isTrue(); // the newer connection replaced the older one
    assertThat(second.welcomeAckedSeq()).isEqualTo(100);
    // An agent that resends more than it must (from 51) is deduplicated on the lane.
    StepVerifier.create(pipeline.ingest(second, steps(51, 150))).expectNextCount(100).verifyComplete();
    assertThat(snapshot("dedup").steps()).isEqualTo(150);
    assertThat(pipeline.duplicates()).isEqualTo(50);
  }

  @Test
  void aNewSessionOfAKnownRankIsARewindNotANewRun() {
    Registration s1 = open(hello("restart", 0, 1, 1), () -> {});
    StepVerifier.create(pipeline.ingest(s1, steps(1, 300))).expectNextCount(300).verifyComplete();
    Registration s2 = open(hello("restart", 0, 1, 2), () -> {});
    assertThat(s2.welcomeAckedSeq()).isZero();
    StepVerifier.create(pipeline.ingest(s2, steps(1, 50))).expectNextCount(50).verifyComplete();
    RunSnapshot s = snapshot("restart");
    assertThat(s.steps()).isEqualTo(350);
    assertThat(s.rewinds()).isEqualTo(1);
  }

  @Test
  void byeFromEveryRankFinishesTheRun() {
    Registration r0 = open(hello("bye", 0, 2, 1), () -> {});
    Registration r1 = open(hello("bye", 1, 2, 1), () -> {});
    StepVerifier.create(Flux.merge(pipeline.ingest(r0, steps(1, 10)), pipeline.ingest(r1, steps(1, 10))))
        .expectNextCount(20).verifyComplete();
    pipeline.bye(r0, new Bye(Bye.Status.COMPLETED, "")).block(TIMEOUT);
    assertThat(snapshot("bye").status().label()).isEqualTo("live");
    pipeline.bye(r1, new Bye(Bye.Status.COMPLETED, "done")).block(TIMEOUT);
    RunSnapshot s = snapshot("bye");
    assertThat(s.status().label()).isEqualTo("finished");
    assertThat(s.steps()).isEqualTo(10);
    assertThat(s.endMessage()).isEqualTo("done");
  }

  /**
   * fsync batch: a group commit's fsync runs on the lane's fsync thread, so records are applied
   * (visible) while it is in flight, and acknowledged only once it completes.
   */
  @Test
  void theGroupCommitForcesOffTheLaneAndAcksOnlyAfterTheForce(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    io.ergowatch.monitor.store.RecordStore store =
        new io.ergowatch.monitor.store.RecordStore(io.ergowatch.monitor.store.StoreSettings.defaults(dir));
    Pipeline p = new Pipeline(PipelineSettings.defaults().withLanes(1), () -> 0L, store);
    try {
      CountDownLatch release = new CountDownLatch(1);
      AtomicLong forces = new AtomicLong();
      AtomicBoolean onLane = new AtomicBoolean();
      p.lanes[0].commits.forceSegment = segment -> {
        forces.incrementAndGet();
        onLane.compareAndSet(false, Thread.currentThread().getName().startsWith("ergowatch-lane"));
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        io.ergowatch.monitor.store.RunLog.force(segment);
      };
      Registration reg = p.open(hello("forced", 0, 1, 1), () -> { }).block(TIMEOUT);
      p.ingest(reg, steps(1, 300)).blockLast(TIMEOUT);
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (forces.get() == 0 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(forces.get()).as("a group commit handed its force over").isPositive();
      RunSnapshot s = p.snapshot("forced").block(TIMEOUT).orElseThrow();
      assertThat(s.steps()).as("applied while the force is blocked: the lane does not wait").isEqualTo(300);
      assertThat(reg.ackedSeq()).as("nothing acknowledged before the force completes").isZero();
      release.countDown();
      while (reg.ackedSeq() < 300 && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(reg.ackedSeq()).isEqualTo(300);
      assertThat(onLane).as("the force ran on the fsync thread").isFalse();
    } finally {
      p.close();
    }
  }

  /**
   * A run finished longer ago than the log retention is forgotten while the monitor runs: out of
   * memory, off the max-runs count, its log deleted; the same run id later starts afresh.
   */
  @Test
  void aRunPastTheLogRetentionIsForgottenWithItsLog(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    io.ergowatch.monitor.store.RecordStore store = new io.ergowatch.monitor.store.RecordStore(
        new io.ergowatch.monitor.store.StoreSettings(dir, io.ergowatch.monitor.store.FsyncPolicy.BATCH,
            Duration.ofMillis(20), 1 << 20, Duration.ofHours(1), 1L << 30));
    AtomicLong clock = new AtomicLong(1_000_000_000_000L);
    Pipeline p = new Pipeline(PipelineSettings.defaults().withLanes(1).withRetention(Duration.ofMinutes(1)), clock::get,
        store);
    try {
      Registration reg = p.open(hello("old", 0, 1, 1), () -> { }).block(TIMEOUT);
      p.ingest(reg, steps(1, 50)).blockLast(TIMEOUT);
      p.bye(reg, new Bye(Bye.Status.COMPLETED, "")).block(TIMEOUT);
      p.closed(reg);
      assertThat(store.runs()).containsExactly("old");
      clock.addAndGet(Duration.ofMinutes(2).toNanos()); // past the /metrics retention: hidden
      awaitTrue(() -> p.snapshot("old").block(TIMEOUT).isEmpty());
      assertThat(store.runs()).as("hidden, not yet past the log retention").containsExactly("old");
      clock.addAndGet(Duration.ofHours(2).toNanos()); // past the log retention: forgotten
      awaitTrue(() -> store.runs().isEmpty());
      Registration again = p.open(hello("old", 0, 1, 2), () -> { }).block(TIMEOUT);
      assertThat(again.welcomeAckedSeq()).as("a fresh run: nothing recorded").isZero();
      p.ingest(again, steps(1, 3)).blockLast(TIMEOUT);
      assertThat(p.snapshot("old").block(TIMEOUT).orElseThrow().steps()).isEqualTo(3);
    } finally {
      p.close();
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within %s", TIMEOUT).isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
