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
import io.ergowatch.monitor.store.RecordStore;
import io.ergowatch.monitor.store.RunLog;
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
  private final RecordStore store;
  /** The group commits of this lane's logs; null without a store. */
  final GroupCommit commits;
  volatile int visibleRuns;
  /** Records applied on this lane; single writer, read by gauges and benchmarks. */
  private volatile long applied;

  private final java.util.concurrent.atomic.AtomicInteger runCount;

  Lane(int id, PipelineSettings settings, LongSupplier wallClockNanos, LongAdder duplicates, RecordStore store,
      java.util.concurrent.atomic.AtomicInteger runCount) {
    this.runCount = runCount;
    this.id = id;
    this.settings = settings;
    this.clock = wallClockNanos;
    this.duplicates = duplicates;
    this.store = store;
    ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "ergowatch-lane-" + id);
      t.setDaemon(true);
      return t;
    });
    ex.setRemoveOnCancelPolicy(true);
    this.executor = ex;
    this.commits = store == null ? null : new GroupCommit(id, store.settings(), wallClockNanos);
    this.scheduler = Schedulers.fromExecutorService(ex, "ergowatch-lane-" + id);
    long tick = settings.tickInterval().toNanos();
    ex.scheduleWithFixedDelay(this::tick, tick, tick, TimeUnit.NANOSECONDS);
    if (store != null) {
      long commit = Math.min(store.settings().fsyncInterval().toNanos(), TimeUnit.MILLISECONDS.toNanos(20));
      ex.scheduleWithFixedDelay(commits::commit, commit, commit, TimeUnit.NANOSECONDS);
    }
  }

  /** Forces one run's log now (BYE: the final ACK must cover every record). */
  void commitNow(RunEntry e) {
    if (e.log != null) {
      e.log.force();
    }
    e.markDurable();
  }

  /** Notes an append, for the next group commit (or marks it durable at once without a store). */
  private void appended(RunEntry e) {
    if (e.log == null) {
      e.markDurable();
    } else {
      commits.appended(e);
    }
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
      e = newEntry(run, job, labels);
      if (store != null) {
        e.log = store.open(run, entry -> { });
      }
      log.info("run {} started (job {})", run, job.isEmpty() ? "-" : job);
    } else if (e.hidden) {
      log.info("run {} is back after leaving /metrics", run);
    }
    e.hidden = false;
    countVisible();
    return e;
  }

  RunEntry newEntry(String run, String job, Map<String, String> labels) {
    RunCore core = new RunCore(run, job, labels, settings.analytics());
    RunEntry e = new RunEntry(core, new RankAssembler(core, settings.rankGrace().toNanos(), settings.maxPendingSteps()));
    runs.put(run, e);
    runCount.incrementAndGet();
    return e;
  }

  /** Replays a run's log (at start, before ingestion opens); returns the records replayed. */
  long replay(String run, Pipeline pipeline) {
    long t0 = clock.getAsLong();
    LogReplay replay = new LogReplay(this, pipeline, run);
    RunLog runLog = store.open(run, replay);
    RunEntry e = replay.entry;
    if (e == null) {
      if (runLog.damage().any()) {
        log.error("run {}: its record log was damaged and no HELLO of it is readable: not replayed; its bytes stay "
            + "on disk and in quarantine", run);
      }
      runLog.close();
      return 0;
    }
    e.log = runLog;
    noteDamage(run, e, runLog.damage(), replay.unmapped);
    e.markDurable();
    e.live.clear();
    countVisible();
    log.info("run {}: replayed {} records ({} bytes of log) in {} ms, state {}", run, replay.steps, runLog.bytes(),
        (clock.getAsLong() - t0) / 1_000_000, e.core.state().label());
    return replay.steps;
  }

  /**
   * Replays a run's log without changing it (offline, possibly beside a live monitor): the run
   * as the log says it is now; null when the log holds no readable HELLO of it.
   */
  RunSnapshot replayReadOnly(String run, Pipeline pipeline, RunCore.EvaluationListener evaluations,
      java.util.function.Consumer<io.ergowatch.monitor.store.LogEntry> entries) {
    LogReplay replay = new LogReplay(this, pipeline, run, evaluations);
    RunLog.Damage damage = store.read(run, entries == null ? replay : e -> {
      replay.accept(e);
      entries.accept(e);
    });
    RunEntry e = replay.entry;
    if (e == null) {
      return null;
    }
    noteDamage(run, e, damage, replay.unmapped);
    e.markDurable();
    countVisible();
    return snapshot(run);
  }

  private static void noteDamage(String run, RunEntry e, RunLog.Damage damage, long unmapped) {
    if (damage.any() || unmapped > 0) {
      e.core.onStoreDamage(damage.records() + unmapped, damage.bytes(), damage.segments());
      if (unmapped > 0) {
        log.error("run {}: {} salvaged record(s) could not be replayed: the HELLO of their connection was damaged",
            run, unmapped);
      }
    }
  }

  /** Applies the STEPs of a connection's batch in order: dedup by seq, rank assembly, analytics. */
  void apply(Registration r, RunEntry e, StepBatch b) {
    try {
      for (int i = 0, n = b.count(); i < n; i++) {
        apply(r, e, b.get(i), b, i);
      }
    } finally {
      b.release();
    }
  }

  /** One STEP, replayed from the log: recorded already, so not appended again. */
  void replayed(Registration r, RunEntry e, Step s) {
    apply(r, e, s, null, -1);
  }

  /**
   * One STEP, live from a connection (from {@code batch}, at {@code index}) or, with a null
   * batch, replayed from the log.
   */
  private void apply(Registration r, RunEntry e, Step s, StepBatch batch, int index) {
    boolean live = batch != null;
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
    if (live) {
      if (e.log != null) {
        if (batch.hasFrames()) {
          e.log.append(src.rank, src.session, batch.frame(index));
        } else {
          e.log.append(src.rank, src.session, s);
        }
      }
      appended(e);
    }
    long now = clock.getAsLong();
    boolean rewind = src.rewindPending;
    if (rewind) {
      src.rewindPending = false;
      if (live) {
        log.info("run {} rank {}: new session {} rewinds to step {}", r.hello.run(), src.rank,
            Long.toUnsignedString(src.session, 16), s.step());
      }
    }
    e.assembler.accept(src.rank, s, r.mapping, rewind, now);
    if (live) {
      lag.observe(now - s.timeNanos());
      logChange(e);
    } else {
      e.loggedEvent = e.core.lastEvent(); // history being rebuilt: its changes were logged when they happened
    }
  }

  private void logChange(RunEntry e) {
    RunEvent ev = e.core.lastEvent();
    if (ev != e.loggedEvent) {
      e.loggedEvent = ev;
      if (ev.from() == ev.to()) { // an event of the run that is not a state change (a loss spike)
        log.info("run {} ({}): {}", e.core.run(), ev.to().label(), String.join("; ", ev.why()));
      } else {
        log.info("run {}: {} -> {} at step {}: {}", e.core.run(), ev.from().label(), ev.to().label(),
            ev.step(), String.join("; ", ev.why()));
      }
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
      if (e.hidden && store != null && e.live.isEmpty() && e.core.expired(now, store.settings().retention().toNanos())) {
        it.remove();
        forget(e, st);
      }
    }
    countVisible();
  }

  /**
   * Lets a run go for good once its log is past the log retention: without it, a monitor that
   * runs for months would keep every run it ever saw in memory, count it against max-runs, and
   * keep its log until the next restart.
   */
  private void forget(RunEntry e, RunStatus st) {
    runCount.decrementAndGet();
    commits.forget(e);
    if (e.log != null) {
      e.log.close();
    }
    store.delete(e.core.run());
    log.info("run {} forgotten: {} for longer than the log retention of {}; its record log is deleted",
        e.core.run(), st.label(), store.settings().retention());
  }

  private void countVisible() {
    int n = 0;
    for (RunEntry e : runs.values()) {
      n += e.hidden ? 0 : 1;
    }
    visibleRuns = n;
  }

  /** The runs on /metrics now. */
  List<String> visibleRunIds() {
    List<String> out = new ArrayList<>();
    for (RunEntry e : runs.values()) {
      if (!e.hidden) {
        out.add(e.core.run());
      }
    }
    return out;
  }

  /**
   * The run's snapshot, null for an unknown or hidden run, and null (with one ERROR line per run)
   * when the snapshot fails: a bug in one run's snapshot must never fail another's or a listing.
   */
  RunSnapshot snapshot(String run) {
    RunEntry e = runs.get(run);
    if (e == null || e.hidden) {
      return null;
    }
    try {
      return e.core.snapshot();
    } catch (RuntimeException ex) {
      if (!e.snapshotFailureLogged) {
        e.snapshotFailureLogged = true;
        log.error("run {}: its snapshot failed and it is left out of the API and /metrics until it works: {}", run,
            ex.toString(), ex);
      }
      return null;
    }
  }

  /** Appends a HELLO or BYE of a live connection to the run's log. */
  void logFrame(RunEntry e, int rank, long session, io.ergowatch.protocol.Frame f) {
    if (e.log != null) {
      e.log.append(rank, session, f);
      appended(e);
    }
  }

  /** Forces and closes every log of this lane (shutdown). Runs on the lane. */
  void closeLogs() {
    if (commits != null) {
      commits.commit();
      commits.awaitForces();
    }
    for (RunEntry e : runs.values()) {
      if (e.log != null) {
        e.log.close();
      }
    }
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
    if (commits != null) { // after the lane: its last commit may still hand forces over
      commits.close();
    }
  }
}
