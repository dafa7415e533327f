package io.ergowatch.monitor.pipeline;

import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.store.RecordStore;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.FrameException;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Label;
import io.ergowatch.protocol.Step;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The per-run pipeline: records keyed by run flow to the run's lane, in order within a run,
 * runs in parallel across lanes, with backpressure all the way back to the socket (a
 * connection may have at most {@code prefetch} STEPs queued for its lane; while the queue is
 * full its Flux requests nothing, and Reactor Netty stops reading the socket).
 *
 * <p>Deduplication is decided on the lane, the one place that sees every record of a run in
 * order: a STEP whose seq is not above its session's recorded seq is a resend and is dropped
 * there, so a record reaches the analytics exactly once even when an old and a new connection
 * of the same (run, rank) overlap.
 *
 * <pre>{@code
 * Pipeline p = new Pipeline(PipelineSettings.defaults(), () -> System.currentTimeMillis() * 1_000_000);
 * Registration reg = p.open(hello, connection).block();
 * p.ingest(reg, steps).sample(Duration.ofMillis(100)).map(s -> new Ack(reg.ackedSeq()));
 * p.ingestBatches(reg, batches, 64).then(); // a connection hands over what each read held
 * }</pre>
 */
public final class Pipeline implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Pipeline.class);

  private final PipelineSettings settings;
  private final LongSupplier clock;
  final Lane[] lanes; // package-private for tests
  private final LongAdder duplicates = new LongAdder();
  private final RecordStore store;
  private final java.util.concurrent.atomic.AtomicInteger runCount = new java.util.concurrent.atomic.AtomicInteger();

  /**
   * @param wallClockNanos Unix epoch nanoseconds, the same clock as the agents' STEP.time
   */
  public Pipeline(PipelineSettings settings, LongSupplier wallClockNanos) {
    this(settings, wallClockNanos, null);
  }

  /**
   * @param store the durable record log; null keeps records in memory only (tests, benchmarks)
   */
  public Pipeline(PipelineSettings settings, LongSupplier wallClockNanos, RecordStore store) {
    this.settings = settings;
    this.clock = wallClockNanos;
    this.store = store;
    this.lanes = new Lane[settings.lanes()];
    for (int i = 0; i < lanes.length; i++) {
      lanes[i] = new Lane(i, settings, wallClockNanos, duplicates, store, runCount);
    }
  }

  /**
   * Rebuilds every run from the record log, each on its lane, before ingestion opens: the same
   * records through the same code give the same analytics as an uninterrupted run, and each
   * (run, rank, session) resumes at the seq it had recorded.
   *
   * @return records replayed
   */
  public long replay() {
    if (store == null) {
      return 0;
    }
    List<String> runs = store.runs();
    if (runs.isEmpty()) {
      return 0;
    }
    log.info("replaying {} run(s) from {}", runs.size(), store.settings().dataDir());
    long t0 = clock.getAsLong();
    long total = Flux.fromIterable(runs)
        .flatMap(run -> {
          Lane lane = laneOf(run);
          return Mono.fromCallable(() -> lane.replay(run, this)).subscribeOn(lane.scheduler);
        })
        .reduce(0L, Long::sum)
        .block();
    log.info("replay done: {} records of {} run(s) in {} ms", total, runs.size(), (clock.getAsLong() - t0) / 1_000_000);
    return total;
  }

  /**
   * Recomputes one run from the record log without changing it (an offline replay: the store
   * opened read-only, ingestion never opened): its snapshot, events included, as the same records
   * through the same code make it; empty when the log holds no readable HELLO of the run.
   */
  public Mono<Optional<RunSnapshot>> replayReadOnly(String run) {
    return replayReadOnly(run, null, null);
  }

  /**
   * As {@link #replayReadOnly(String)}, telling {@code evaluations} every window evaluation and
   * {@code entries} every log entry read, in order, on the run's lane (either may be null).
   */
  public Mono<Optional<RunSnapshot>> replayReadOnly(String run, RunCore.EvaluationListener evaluations,
      java.util.function.Consumer<io.ergowatch.monitor.store.LogEntry> entries) {
    Lane lane = laneOf(run);
    return Mono.fromCallable(() -> Optional.ofNullable(lane.replayReadOnly(run, this, evaluations, entries)))
        .subscribeOn(lane.scheduler);
  }

  /** The runs the record log holds, oldest write first; empty without a store. */
  public List<String> storedRuns() {
    return store == null ? List.of() : store.runs();
  }

  public PipelineSettings settings() {
    return settings;
  }

  private Lane laneOf(String run) {
    return lanes[Math.floorMod(run.hashCode(), lanes.length)];
  }

  /**
   * Registers an accepted HELLO on its run's lane. A connection already streaming the same
   * (run, rank) is closed: the newer one wins, so a reconnecting agent never waits for a dead
   * socket to time out.
   *
   * @param connection disposed if a newer connection replaces it
   */
  public Mono<Registration> open(Hello hello, Disposable connection) {
    Lane lane = laneOf(hello.run());
    return Mono.fromCallable(() -> register(lane, hello, connection)).subscribeOn(lane.scheduler);
  }

  static Map<String, String> labels(Hello h) {
    Map<String, String> labels = new LinkedHashMap<>();
    for (Label l : h.labels()) {
      labels.put(l.key(), l.value());
    }
    return labels;
  }

  private Registration register(Lane lane, Hello h, Disposable connection) {
    RunEntry existing = lane.runs.get(h.run());
    if (existing == null && runCount.get() >= settings.maxRuns()) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED, "the monitor holds " + runCount.get()
          + " runs, its limit (max-runs); run " + h.run() + " not accepted");
    }
    int known = existing == null ? 0 : existing.core.seriesCount();
    int added = 0;
    for (String name : h.series()) {
      added += existing != null && existing.core.hasSeries(name) ? 0 : 1;
    }
    if (known + added > settings.maxSeriesPerRun()) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED, "run " + h.run() + " would have " + (known + added)
          + " series, more than the limit of " + settings.maxSeriesPerRun() + " (max-series-per-run)");
    }
    RunEntry e = lane.entry(h.run(), h.job(), labels(h));
    return register(lane, e, h, connection, true);
  }

  /** Registers a HELLO on its lane: live from a connection, or replayed from the log. */
  Registration register(Lane lane, RunEntry e, Hello h, Disposable connection, boolean live) {
    Map<String, String> labels = labels(h);
    long now = clock.getAsLong();
    e.core.onHello(h.world(), h.mode().name().toLowerCase(java.util.Locale.ROOT), labels, now);
    e.world = h.world();
    e.assembler.configure(h.world(), h.mode(), now);
    e.byeRanks.remove(h.rank());
    int[] mapping = new int[h.series().size()];
    for (int i = 0; i < mapping.length; i++) {
      mapping[i] = e.core.seriesIndex(h.series().get(i));
    }
    Source src = e.source(h.rank(), h.session());
    if (src == null) {
      src = new Source(h.rank(), h.session(), e.rankHasHistory(h.rank()));
      e.addSource(src);
    }
    if (live) {
      Object old = e.live.put(h.rank(), connection);
      if (old != null && old != connection) {
        log.info("run {} rank {}: a new connection replaces the previous one", h.run(), h.rank());
        ((Disposable) old).dispose();
      }
      lane.logFrame(e, h.rank(), h.session(), h);
    }
    // WELCOME tells the agent what is durable: records recorded but not yet committed are resent
    // and dropped here as duplicates, so nothing acknowledged can be lost in a crash.
    Registration reg = new Registration(h, lane, src, mapping, src.durableSeq, connection);
    reg.entry = e;
    return reg;
  }

  /**
   * Streams a connection's STEPs (already checked for order) into the run. The returned Flux
   * emits each STEP once it has been applied, on the lane thread, and completes after the last.
   * It requests at most {@code prefetch} STEPs ahead of the lane.
   */
  public Flux<Step> ingest(Registration reg, Flux<Step> steps) {
    return ingest(reg, steps.map(StepBatch::of), settings.prefetch()).map(StepBatch::last);
  }

  /**
   * As {@link #ingest(Registration, Flux)} for batches of at most {@code maxBatch} STEPs (what
   * one read of a connection holds): the hop to the lane costs once per batch. It requests at
   * most about {@code prefetch} STEPs ahead of the lane ({@code prefetch / maxBatch} batches,
   * at least one); the returned Flux emits each batch once all of it has been applied.
   */
  public Flux<StepBatch> ingestBatches(Registration reg, Flux<StepBatch> batches, int maxBatch) {
    return ingest(reg, batches, Math.max(1, settings.prefetch() / Math.max(1, maxBatch)));
  }

  private Flux<StepBatch> ingest(Registration reg, Flux<StepBatch> batches, int prefetchBatches) {
    Lane lane = reg.lane;
    RunEntry e = reg.entry;
    // A batch queued but never applied (the connection went away) frees its bytes on discard.
    return batches.publishOn(lane.scheduler, prefetchBatches).doOnNext(b -> lane.apply(reg, e, b))
        .doOnDiscard(StepBatch.class, StepBatch::release);
  }

  /** BYE from a connection, after its STEPs have been applied. */
  public Mono<Void> bye(Registration reg, Bye bye) {
    return Mono.<Void>fromRunnable(() -> {
      reg.lane.logFrame(reg.entry, reg.source.rank, reg.source.session, bye);
      if (applyBye(reg, bye)) {
        log.info("run {} finished ({}{}) after {} steps, state {}", reg.hello.run(), bye.status().label(),
            bye.message().isEmpty() ? "" : ": " + bye.message(), reg.entry.core.steps(), reg.entry.core.state().label());
      }
      reg.lane.commitNow(reg.entry);
    }).subscribeOn(reg.lane.scheduler);
  }

  /** Makes everything this connection's run recorded durable now (end of a connection: final ACK). */
  public Mono<Void> commit(Registration reg) {
    return Mono.<Void>fromRunnable(() -> reg.lane.commitNow(reg.entry)).subscribeOn(reg.lane.scheduler);
  }

  /** The lane side of a BYE; true when it finished the run. */
  boolean applyBye(Registration reg, Bye bye) {
    RunEntry e = reg.entry;
    e.byeRanks.add(reg.source.rank);
    if (e.byeRanks.size() >= e.world) {
      e.assembler.flushAll(clock.getAsLong());
      e.core.onFinished(bye.status().label(), bye.message(), clock.getAsLong());
      return true;
    }
    return false;
  }

  /** The connection of a registration has closed, for whatever reason. */
  public void closed(Registration reg) {
    reg.lane.executor.execute(() -> reg.entry.live.remove(reg.source.rank, reg.connection));
  }

  /**
   * Snapshots of every run still on /metrics, sorted by run id. Each run's snapshot is its own
   * task on its lane, so the records arriving meanwhile are applied between them: a scrape of
   * many runs never holds a lane for the sum of their window statistics.
   */
  public Mono<List<RunSnapshot>> snapshots() {
    return Flux.fromArray(lanes)
        .flatMap(l -> Mono.fromCallable(l::visibleRunIds).subscribeOn(l.scheduler)
            .flatMapIterable(ids -> ids)
            .concatMap(run -> Mono.fromCallable(() -> l.snapshot(run)).subscribeOn(l.scheduler)))
        .collectList()
        .map(all -> {
          List<RunSnapshot> sorted = new ArrayList<>(all);
          sorted.sort(Comparator.comparing(RunSnapshot::run));
          return sorted;
        });
  }

  /** The snapshot of one run, empty when unknown or past retention. */
  public Mono<Optional<RunSnapshot>> snapshot(String run) {
    Lane lane = laneOf(run);
    return Mono.fromCallable(() -> Optional.ofNullable(lane.snapshot(run))).subscribeOn(lane.scheduler);
  }

  /** The lag histogram of all lanes: bucket counts (LagHistogram.BOUNDS + Inf) and the sum. */
  public Mono<LagSnapshot> lag() {
    return Flux.fromArray(lanes)
        .concatMap(l -> Mono.fromCallable(() -> {
          long[] c = new long[LagHistogram.BOUNDS.length + 1];
          double sum = l.lag.addTo(c);
          return new LagSnapshot(c, sum);
        }).subscribeOn(l.scheduler))
        .reduce(LagSnapshot::plus);
  }

  /** Counts a resend dropped before it reached the lane. */
  public void countDuplicate() {
    duplicates.increment();
  }

  /** Records dropped as resends, over all runs. */
  public long duplicates() {
    return duplicates.sum();
  }

  /** STEP records applied to the analytics since start, over all runs (a cheap read). */
  public long recordsApplied() {
    long n = 0;
    for (Lane l : lanes) {
      n += l.applied();
    }
    return n;
  }

  /** Runs currently on /metrics (a cheap read for a gauge). */
  public int visibleRuns() {
    int n = 0;
    for (Lane l : lanes) {
      n += l.visibleRuns;
    }
    return n;
  }

  @Override
  public void close() {
    for (Lane l : lanes) {
      l.executor.execute(() -> {
        l.runs.values().forEach(e -> e.assembler.flushAll(clock.getAsLong()));
        if (store != null) {
          l.closeLogs();
        }
      });
      l.close();
    }
  }

  /** Bucket counts of the lag histogram and their sum in seconds. */
  public record LagSnapshot(long[] counts, double sumSeconds) {
    LagSnapshot plus(LagSnapshot o) {
      long[] c = counts.clone();
      for (int i = 0; i < c.length; i++) {
        c[i] += o.counts[i];
      }
      return new LagSnapshot(c, sumSeconds + o.sumSeconds);
    }
  }
}
