package io.ergowatch.monitor.pipeline;

import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.RunEvent;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.analytics.RunStatus;
import io.ergowatch.protocol.Step;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * One single-threaded lane. Every run lives on exactly one lane, so its core and assembler are
 * touched by one thread only (no locks on the hot path), while different lanes run in
 * parallel. All methods but the constructor and {@link #close} run on the lane thread.
 */
final class Lane implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger("io.ergowatch.monitor.runs");

  final int id;
  final ScheduledExecutorService executor;
  final Scheduler scheduler;
  final Map<String, RunEntry> runs = new HashMap<>();
  final LagHistogram lag = new LagHistogram();
  private final PipelineSettings settings;
  private final LongSupplier clock;
  private final LongAdder duplicates;
  volatile int visibleRuns;
  /** Records applied on this lane; single writer, read by gauges and benchmarks. */
  private volatile long applied;

  Lane(int id, PipelineSettings settings, LongSupplier wallClockNanos, LongAdder duplicates) {
    this.id = id;
    this.settings = settings;
    this.clock = wallClockNanos;
    this.duplicates = duplicates;
    ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "ergowatch-lane-" + id);
      t.setDaemon(true);
      return t;
    });
    ex.setRemoveOnCancelPolicy(true);
    this.executor = ex;
    this.scheduler = Schedulers.fromExecutorService(ex, "ergowatch-lane-" + id);
    long tick = settings.tickInterval().toNanos();
    ex.scheduleWithFixedDelay(this::tick, tick, tick, TimeUnit.NANOSECONDS);
  }

  private static final java.lang.invoke.VarHandle APPLIED;

  static {
    try {
      APPLIED = java.lang.invoke.MethodHandles.lookup().findVarHandle(Lane.class, "applied", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  long applied() {
    return applied;
  }

  RunEntry entry(String run, String job, Map<String, String> labels) {
    RunEntry e = runs.get(run);
    if (e == null) {
      RunCore core = new RunCore(run, job, labels, settings.analytics());
      e = new RunEntry(core, new RankAssembler(core, settings.rankGrace().toNanos(), settings.maxPendingSteps()));
      runs.put(run, e);
      log.info("run {} started (job {})", run, job.isEmpty() ? "-" : job);
    } else if (e.hidden) {
      log.info("run {} is back after leaving /metrics", run);
    }
    e.hidden = false;
    countVisible();
    return e;
  }

  /** Applies one STEP of a connection: dedup by seq, rank assembly, analytics. */
  void apply(Registration r, RunEntry e, Step s) {
    Source src = r.source;
    long seq = s.seq();
    if (seq <= src.recordedSeq) {
      duplicates.increment(); // a resend of a record already recorded: exactly once into analytics
      return;
    }
    if (seq != src.recordedSeq + 1) {
      // The connection checks seq order before the lane, so this means a bug, not bad input.
      log.error("run {} rank {}: seq {} follows recorded {}; recording it anyway",
          r.hello.run(), src.rank, seq, src.recordedSeq);
    }
    src.recordedSeq = seq;
    APPLIED.setOpaque(this, applied + 1);
    long now = clock.getAsLong();
    boolean rewind = src.rewindPending;
    if (rewind) {
      src.rewindPending = false;
      log.info("run {} rank {}: new session {} rewinds to step {}", r.hello.run(), src.rank,
          Long.toUnsignedString(src.session, 16), s.step());
    }
    e.assembler.accept(src.rank, s, r.mapping, rewind, now);
    lag.observe(now - s.timeNanos());
    logChange(e);
  }

  private void logChange(RunEntry e) {
    RunEvent ev = e.core.lastEvent();
    if (ev != e.loggedEvent) {
      e.loggedEvent = ev;
      log.info("run {}: {} -> {} at step {}: {}", e.core.run(), ev.from().label(), ev.to().label(),
          ev.step(), String.join("; ", ev.why()));
    }
  }

  private void tick() {
    long now = clock.getAsLong();
    long silence = settings.silenceTimeout().toNanos();
    long retention = settings.retention().toNanos();
    for (Iterator<RunEntry> it = runs.values().iterator(); it.hasNext(); ) {
      RunEntry e = it.next();
      e.assembler.tick(now);
      logChange(e);
      e.core.onTick(now, silence);
      RunStatus st = e.core.status();
      if (st != e.loggedStatus) {
        if (st == RunStatus.SILENT) {
          log.warn("run {} is silent: no data for {} s", e.core.run(), settings.silenceTimeout().toSeconds());
        }
        e.loggedStatus = st;
      }
      if (!e.hidden && e.live.isEmpty() && e.core.expired(now, retention)) {
        e.hidden = true;
        log.info("run {} left /metrics: {} for longer than the retention of {}", e.core.run(),
            st.label(), settings.retention());
      }
    }
    countVisible();
  }

  private void countVisible() {
    int n = 0;
    for (RunEntry e : runs.values()) {
      n += e.hidden ? 0 : 1;
    }
    visibleRuns = n;
  }

  List<RunSnapshot> snapshots() {
    List<RunSnapshot> out = new ArrayList<>();
    for (RunEntry e : runs.values()) {
      if (!e.hidden) {
        out.add(e.core.snapshot());
      }
    }
    return out;
  }

  RunSnapshot snapshot(String run) {
    RunEntry e = runs.get(run);
    return e == null || e.hidden ? null : e.core.snapshot();
  }

  @Override
  public void close() {
    executor.shutdown();
    try {
      if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
      executor.shutdownNow();
    }
    scheduler.dispose();
  }
}
