package io.ergowatch.monitor.pipeline;

import io.ergowatch.monitor.store.FsyncPolicy;
import io.ergowatch.monitor.store.RunLog;
import io.ergowatch.monitor.store.StoreSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The group commit of one lane's run logs: which runs were appended to since the last commit,
 * when they are forced (the fsync policy), and when their records may be acknowledged. Called
 * on the lane thread; the forces themselves run on this lane's own fsync thread, which keeps
 * them in order.
 */
final class GroupCommit {
  private static final Logger log = LoggerFactory.getLogger("io.ergowatch.monitor.runs");

  private final int lane;
  private final StoreSettings settings;
  private final LongSupplier clock;
  private final ArrayList<RunEntry> uncommitted = new ArrayList<>();
  private final ExecutorService fsync;
  /** How the fsync thread forces a segment (tests slow it down). */
  volatile Consumer<Path> forceSegment = RunLog::force;
  private long lastForceNanos;

  GroupCommit(int lane, StoreSettings settings, LongSupplier clock) {
    this.lane = lane;
    this.settings = settings;
    this.clock = clock;
    this.fsync = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "ergowatch-fsync-" + lane);
      t.setDaemon(true);
      return t;
    });
  }

  /** A run whose log is deleted: nothing of it is committed any more. */
  void forget(RunEntry e) {
    uncommitted.remove(e);
    e.uncommitted = false;
  }

  /** Notes that a run's log was appended to, for the next commit. */
  void appended(RunEntry e) {
    if (!e.uncommitted) {
      e.uncommitted = true;
      uncommitted.add(e);
    }
  }

  /**
   * Group commit, every ≤ 20 ms: hands every log appended to since the last commit to the OS,
   * on the lane, and lets the ACKs report those records — at once, or (fsync batch) once the
   * lane's fsync thread has forced them. The fsync runs off the lane because a disk can take
   * hundreds of milliseconds for one: on the lane it stalled the analytics behind it (send →
   * applied p99 0.4–2.3 s at 300k records/s, against 10–40 ms without fsync, bench/README.md).
   */
  void commit() {
    if (uncommitted.isEmpty()) {
      return;
    }
    FsyncPolicy policy = settings.fsync();
    long now = clock.getAsLong();
    // The injected wall clock can step back (NTP): then force at once rather than wait for it.
    long sinceForce = now - lastForceNanos;
    boolean forceNow = policy == FsyncPolicy.BATCH
        || policy == FsyncPolicy.INTERVAL && (sinceForce >= settings.fsyncInterval().toNanos() || sinceForce < 0);
    boolean ackAfterForce = policy == FsyncPolicy.BATCH;
    List<Runnable> forces = new ArrayList<>();
    for (RunEntry e : uncommitted) {
      try {
        if (forceNow) {
          Path segment = e.log.flushForForce();
          Runnable marks = ackAfterForce ? e.durableMarks() : () -> { };
          if (!ackAfterForce) {
            e.markDurable();
          }
          String run = e.core.run();
          Consumer<Path> force = forceSegment;
          forces.add(() -> {
            try {
              if (segment != null) {
                force.accept(segment);
              }
              marks.run();
            } catch (java.io.UncheckedIOException ex) {
              // Not acknowledged: the agents keep the records and resend them after a reconnect.
              log.error("run {}: {}", run, ex.getMessage());
            }
          });
        } else {
          e.log.flush();
          e.markDurable();
        }
      } catch (java.io.UncheckedIOException ex) {
        log.error("run {}: {}", e.core.run(), ex.getMessage());
      }
      e.uncommitted = false;
    }
    if (forceNow) {
      lastForceNanos = now;
      if (!forces.isEmpty()) {
        try {
          fsync.execute(() -> forces.forEach(Runnable::run));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
          forces.forEach(Runnable::run); // shutting down: force here
        }
      }
    }
    uncommitted.clear();
  }

  /** Waits for the group commits handed to the fsync thread so far (bounded: 30 s). */
  void awaitForces() {
    try {
      fsync.submit(() -> { }).get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException
        | java.util.concurrent.RejectedExecutionException e) {
      log.warn("lane {}: pending fsyncs did not finish: {}", lane, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops the fsync thread once the forces handed to it are done (bounded: 30 s). */
  void close() {
    fsync.shutdown();
    try {
      fsync.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    }
  }
}
