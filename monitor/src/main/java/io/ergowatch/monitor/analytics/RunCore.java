package io.ergowatch.monitor.analytics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The per-run analytics core: pure and deterministic. It is fed assembled records one by one
 * ({@link #onRecord}) and told about lifecycle facts with explicit times; it never reads a
 * clock, does no I/O and knows nothing of Reactor, so live streams, replay and tests drive the
 * same code. Not thread-safe: the pipeline confines each run to one lane thread.
 *
 * <p>Data flows one way: record → {@link RecordGeometry} (full-resolution block sums,
 * {@link BlockSums}, and a thinned row for quantiles) → every max(⌊W/10⌋, 20) records one
 * evaluation: the window's loss tests ({@link WindowEvaluator}), its sum-based statistics
 * ({@link WindowSums}), each a {@link Check} with an estimate, a standard error and an
 * outcome → {@link VerdictMachine} (candidate and hysteresis over disjoint windows) → events.
 * Facts bypass the statistics: non-finite values and the loss rule ({@link DivergenceRule}),
 * learning-rate changes, loss spikes ({@link SpikeDetector}). {@link #snapshot()} reads all of
 * this and writes none of it.
 *
 * <p>Memory per run is bounded: the loss ring holds W_max finite losses (16384 × 8 B), the block
 * sums 2·W_max/20 blocks × 28 sums, the thinned window 512 rows × (19 derived + n series)
 * columns, 256-point histories for six series, per-series O(1) estimators, and the evaluator's
 * scratch arrays (measured with bench MemoryPerRun; estimate in {@link #approximateBytes()}).
 *
 * <pre>{@code
 * RunCore core = new RunCore("r1", "job", Map.of(), AnalyticsSettings.defaults());
 * int loss = core.seriesIndex("loss");
 * core.onRecord(new StepRecord(4).reset(1, t).put(loss, 0.7), receivedNanos);
 * RunSnapshot s = core.snapshot();
 * }</pre>
 */
public final class RunCore {
  /**
   * Thinned rows: two windows (current and previous, for drift) of stride rows and of block rows
   * fit in the ring.
   */
  static final int THINNED_ROWS = 1024;
  /** Thinned rows per window, every stride-th record; as many again at most for block rows. */
  private static final int ROWS_PER_WINDOW = 200;
  /**
   * Geometry rows the geometry's span holds when the agent measures over blocks of k steps (at
   * least this × k records): Π's band test needs {@link WindowSums#MIN_PI_ROWS} of them, and the
   * span's edges cut a few.
   */
  private static final int BLOCK_ROWS_PER_WINDOW = 25;
  private static final String[] HISTORY = {"loss", "grad_sq", "lr", "update_sq", "ema_update_dot", "sharpness"};

  private final String run;
  private final String job;
  private final AnalyticsSettings settings;
  private final Map<String, String> labels = new LinkedHashMap<>();
  private final Map<String, Integer> indexByName = new HashMap<>();
  private SeriesAccumulator[] series = new SeriesAccumulator[0];
  private long[] presentAt = new long[0];
  private History[] history = new History[0];
  private int[] projColumns = new int[0];
  private int projCount;
  private final EventLog events = new EventLog();
  private final RunLifecycle lifecycle = new RunLifecycle();
  private final LossWindow lossWindow;
  private final ThinnedWindow thinned = new ThinnedWindow(THINNED_ROWS);
  private final BlockSums blocks;
  private final RecordGeometry geometry;
  private final RecordGeometry.Values values = new RecordGeometry.Values();
  private final WindowEvaluator evaluator;
  private final WindowSums windowSums;
  private final WindowStats stats = new WindowStats();
  private final VerdictMachine machine;
  private final Reasons reasons;
  private final StateReasons stateReasons;
  private final WindowChecks checks;
  private final DivergenceRule divergence;
  private final SpikeDetector spikes;
  private final LearningRatePhases lrPhases;
  private final RunStart runStart;
  private OptimizerProfile optimizer;
  private double emaAlpha;
  private boolean emaAlphaGiven;

  private int world = 1;
  private String mode = "replicated";
  private final WellKnownSeries k = new WellKnownSeries();

  private long records;
  /** Whether the latest evaluation judged a window (not during a decay or right after a restart). */
  private boolean latestJudged;
  /** The state the latest judged window supports; null when its tests were inconclusive. */
  private RunState latestCandidate;
  private long lastStep = -1;
  private long lastRecordTimeNanos;
  private long rewinds;
  private long partialSteps;
  private long storeCorruptRecords;
  private long storeCorruptBytes;
  private double lossPeak;
  private long nextEvaluation;
  private int window;
  private long blockRecords;

  /**
   * Told the statistics of every window evaluation and the state after it, as they happen: a
   * replay's report or export reads a run's whole course from it. Live runs have none, so the
   * per-record path allocates nothing for it.
   */
  public interface EvaluationListener {
    void evaluated(long step, long record, RunState state, RunStatistics statistics);
  }

  private EvaluationListener evaluations;

  /** Sets (or, with null, removes) the listener of window evaluations. */
  public void onEvaluation(EvaluationListener listener) {
    this.evaluations = listener;
  }

  public RunCore(String run, String job, Map<String, String> labels, AnalyticsSettings settings) {
    this.run = run;
    this.job = job;
    this.settings = settings.validate();
    this.labels.putAll(labels);
    this.lossWindow = new LossWindow(settings.windowMax());
    this.blocks = new BlockSums(2 * settings.windowMax() + 2 * BlockSums.BLOCK);
    this.geometry = new RecordGeometry(blocks, thinned, settings.nilUpdate());
    this.evaluator = new WindowEvaluator(settings, THINNED_ROWS);
    this.windowSums = new WindowSums(settings);
    this.machine = new VerdictMachine(settings);
    this.reasons = new Reasons(settings);
    this.divergence = new DivergenceRule(settings.divergenceWindow(), settings.divergenceFactor(),
        settings.divergenceChecks(), settings.divergenceEvery());
    this.stateReasons = new StateReasons(settings, reasons, machine, divergence);
    this.checks = new WindowChecks(settings, evaluator, thinned);
    this.spikes = new SpikeDetector(settings.spikeFactor(), settings.windowMax());
    this.lrPhases = new LearningRatePhases(settings);
    this.runStart = new RunStart(settings);
    this.window = settings.windowMin();
    this.stats.window = window;
    this.nextEvaluation = Math.max(BlockSums.BLOCK,
        (settings.warmupSteps() + BlockSums.BLOCK - 1) / BlockSums.BLOCK * BlockSums.BLOCK);
    thinned.ensureColumns(Derived.COUNT);
    configure();
  }

  private void configure() {
    this.optimizer = OptimizerProfile.from(labels);
    this.emaAlpha = OptimizerProfile.emaAlpha(labels);
    this.emaAlphaGiven = OptimizerProfile.emaAlphaGiven(labels);
    geometry.configure(emaAlpha, optimizer.beta(), optimizer.forecastFactor());
  }

  public String run() {
    return run;
  }

  /** The run-level index of a series, added on first use. */
  public int seriesIndex(String name) {
    Integer idx = indexByName.get(name);
    if (idx != null) {
      return idx;
    }
    int i = series.length;
    series = Arrays.copyOf(series, i + 1);
    series[i] = new SeriesAccumulator(name);
    presentAt = Arrays.copyOf(presentAt, i + 1);
    presentAt[i] = -1;
    history = Arrays.copyOf(history, i + 1);
    if (Arrays.asList(HISTORY).contains(name)) {
      history[i] = new History(settings.historyPoints());
    }
    indexByName.put(name, i);
    k.assign(name, i);
    if (name.startsWith("proj.")) {
      projColumns = Arrays.copyOf(projColumns, projCount + 1);
      projColumns[projCount++] = Derived.COUNT + i;
    }
    thinned.ensureColumns(Derived.COUNT + i + 1);
    return i;
  }

  public boolean hasSeries(String name) {
    return indexByName.containsKey(name);
  }

  public int seriesCount() {
    return series.length;
  }

  public String seriesName(int index) {
    return series[index].name;
  }

  /** A (re)connection declared the run's shape and metadata; later HELLOs win. */
  public void onHello(int world, String mode, Map<String, String> helloLabels, long receivedNanos) {
    this.world = world;
    this.mode = mode;
    this.labels.putAll(helloLabels);
    configure();
    lifecycle.hello(receivedNanos);
  }

  /** Processes one assembled record. Allocation-free unless the verdict changes. */
  public void onRecord(StepRecord r, long receivedNanos) {
    long rec = ++records;
    lastStep = r.step;
    lastRecordTimeNanos = r.agentTimeNanos;
    lifecycle.record(receivedNanos);
    if (r.rewind) {
      rewinds++;
    }
    if (r.partial) {
      partialSteps++;
    }
    for (int j = 0; j < r.presentCount; j++) {
      presentAt[r.present[j]] = rec;
    }
    learningRate(r, rec);
    for (int j = 0; j < r.presentCount; j++) {
      int i = r.present[j];
      double v = r.values[i];
      series[i].accept(r.step, v);
      if (history[i] != null) {
        history[i].add(r.step, v);
      }
    }
    double loss = value(r, k.loss);
    if (Double.isFinite(loss)) {
      runStart.loss(rec, loss);
      lossWindow.add(loss);
      lossPeak = Math.max(lossPeak, Math.abs(loss));
      String spike = spikes.accept(r.step, loss);
      if (spike != null) {
        event(r.step, machine.state(), List.of(spike));
      }
    }
    facts(r, loss);
    sharpness(r);
    int row = thinnedRow(r, rec);
    fillValues(r);
    runStart.weightSq(values.weightSq);
    geometry.accept(values, row);
    blocks.endRecord();
    if (rec >= nextEvaluation && rec % BlockSums.BLOCK == 0) {
      evaluate(r.step);
    }
  }

  /**
   * Every stride-th record, a thinned row of its finite values (for quantiles and drift); else -1.
   * A record carrying a block's geometry (update_steps k > 1) is sampled on its own count, every
   * ⌈stride / k⌉-th block: over blocks, geometry rows are k records apart, and a stride that shares
   * a factor with k would miss most of them.
   */
  private int thinnedRow(StepRecord r, long rec) {
    int stride = stats.stride;
    boolean sampled = rec % stride == 0;
    double blockSteps = value(r, k.updateSteps);
    if (blockSteps > 1 && stride > 1) {
      int every = Math.max(1, (int) Math.ceil(stride / blockSteps));
      sampled |= blockRecords++ % every == 0;
    }
    if (!sampled) {
      return -1;
    }
    int row = thinned.beginRow(rec);
    for (int j = 0; j < r.presentCount; j++) {
      int i = r.present[j];
      double v = r.values[i];
      if (Double.isFinite(v)) {
        thinned.set(row, Derived.COUNT + i, v);
      }
    }
    return row;
  }

  /** The facts that change the state without statistics: non-finite values and the loss rule. */
  private void facts(StepRecord r, double loss) {
    RunState state = machine.state();
    if (state == RunState.DIVERGED && !machine.divergedByRule()) {
      return;
    }
    String nonfinite = nonfiniteReason(r);
    if (nonfinite != null) {
      enter(RunState.DIVERGED, r.step, List.of(nonfinite), false);
      return;
    }
    if (!Double.isFinite(loss) || !(loss > 0)) {
      return;
    }
    boolean held = divergence.holds();
    boolean holds = divergence.accept(loss) && !lrPhases.decaying(records, window);
    if (holds && state != RunState.DIVERGED) {
      enter(RunState.DIVERGED, r.step, List.of(Reasons.f(
          "loss blew up: median of the last %d losses %s > %s (%s x the best window median %s), rising block after block for %d checks",
          divergence.window(), Reasons.g(divergence.lastMedian()), Reasons.g(divergence.reference()),
          Reasons.g(settings.divergenceFactor()), Reasons.g(divergence.baselineMedian()),
          settings.divergenceChecks())), true);
    } else if (held && !holds && machine.divergedByRule()) {
      enter(RunState.PROGRESSING, r.step, List.of(Reasons.f(
          "recovered: median of the last %d losses %s is back below %s", divergence.window(),
          Reasons.g(divergence.lastMedian()), Reasons.g(divergence.reference()))), false);
    }
  }

  private double value(StepRecord r, int index) {
    return index >= 0 && presentAt[index] == records ? r.values[index] : Double.NaN;
  }

  private boolean has(int index) {
    return index >= 0 && presentAt[index] == records;
  }

  private void fillValues(StepRecord r) {
    RecordGeometry.Values v = values;
    v.loss = value(r, k.loss);
    v.lr = value(r, k.lr);
    v.gradSq = value(r, k.gradSq);
    v.gradLocalSq = value(r, k.gradLocalSq);
    v.batchSize = value(r, k.batchSize);
    v.localBatchSize = value(r, k.localBatchSize);
    v.weightSq = value(r, k.weightSq);
    v.updateSq = value(r, k.updateSq);
    v.updateDotPrev = value(r, k.updateDotPrev);
    v.emaGradDot = value(r, k.emaGradDot);
    v.emaDistSq = value(r, k.emaDistSq);
    v.emaUpdateDot = value(r, k.emaUpdateDot);
    v.updateSteps = value(r, k.updateSteps);
    v.step = r.step();
    v.refGradDot = value(r, k.refGradDot);
    v.refDistSq = value(r, k.refDistSq);
    v.refGradSq = value(r, k.refGradSq);
  }

  private void sharpness(StepRecord r) {
    double s = value(r, k.sharpness);
    double lr = value(r, k.lr);
    if (!Double.isFinite(s) || !(lr > 0)) {
      return;
    }
    stats.sharpnessRatio = s / optimizer.criticalSharpness(lr);
    stats.sharpnessHighRun = stats.sharpnessRatio > settings.sharpnessHigh() ? stats.sharpnessHighRun + 1 : 0;
  }

  /**
   * A learning-rate change beyond burn-in-lr-change restarts the ergodic means and the evidence
   * (math.md §4–§5); a decay is also a fact: PROGRESSING at once.
   */
  private void learningRate(StepRecord r, long rec) {
    double lr = value(r, k.lr);
    if (!Double.isFinite(lr)) {
      return;
    }
    LearningRatePhases.Change change = lrPhases.accept(rec, r.step, lr, window);
    if (change == LearningRatePhases.Change.NONE) {
      return;
    }
    for (SeriesAccumulator s : series) {
      s.restartMean();
    }
    machine.restartEvidence(lrPhases.evidenceStart());
    spikes.noteWindow(Double.NaN, Double.NaN);
    RunState state = machine.state();
    if (change == LearningRatePhases.Change.DECAY && state != RunState.DIVERGED && state != RunState.WARMUP
        && state != RunState.PROGRESSING && state != RunState.CONVERGED) {
      enter(RunState.PROGRESSING, r.step, List.of(Reasons.f(
          "learning rate decaying: %s -> %s at step %d (a schedule's decay phase restarts the evidence)",
          Reasons.g(lrPhases.decayFrom()), Reasons.g(lr), r.step)), false);
    }
  }

  /** One window evaluation and the verdict that follows from it (docs/math.md §4–§5). */
  private void evaluate(long step) {
    WindowStats w = stats;
    long rec = records;
    w.evaluations++;
    w.atStep = step;
    w.atRecord = rec;
    long age = rec - lrPhases.evidenceStart();
    int available = (int) Math.min(Math.min(age, lossWindow.count()), settings.windowMax());
    double tau = available >= 8 ? evaluator.estimateTau(lossWindow, Math.min(window, available), w.tau) : 1;
    w.tau = tau;
    long byAge = age / settings.windowAgeDivisor();
    long asked = Math.max((long) Math.ceil(50 * tau), byAge);
    window = (int) Math.min(settings.windowMax(), Math.max(settings.windowMin(), asked));
    window = (window + BlockSums.BLOCK - 1) / BlockSums.BLOCK * BlockSums.BLOCK;
    w.window = window;
    w.windowTooShort = tau > settings.windowMax() / 50.0;
    int covered = (int) Math.min(window, age) / BlockSums.BLOCK * BlockSums.BLOCK;
    w.lrDecaying = lrPhases.decaying(rec, window) || lrPhases.falling(blocks, rec);
    if (w.lrDecaying) {
      // A decay restarts the evidence every 10% of lr: its fact (PROGRESSING, or CONVERGED as the
      // steps vanish) is read from the last windowMin records whatever the restarts.
      covered = (int) Math.max(covered, Math.min(settings.windowMin(), rec / BlockSums.BLOCK * BlockSums.BLOCK));
    }
    w.windowRecords = covered;
    int geometryCovered = geometrySpan(covered, age);
    w.geometryRecords = geometryCovered;
    w.stride = Math.max(1, Math.max((int) Math.ceil(tau / 4), (window + ROWS_PER_WINDOW - 1) / ROWS_PER_WINDOW));
    long toBlock = blocks.closedBlocks();
    long fromBlock = toBlock - covered / BlockSums.BLOCK;
    double lr = lastLr();
    w.lrFrom = lrPhases.decayFrom();
    w.lrTo = lr;
    if (lossWindow.count() > 0 && covered > 0) {
      evaluator.lossStatistics(lossWindow, lossPeak, w);
    } else {
      w.lossN = 0;
      w.lossStationary = false;
      w.lossNoProgress = false;
      w.lossCheck.unavailable();
    }
    windowSums.evaluate(blocks, toBlock - geometryCovered / BlockSums.BLOCK, toBlock, w);
    w.updatesObserved = k.updateSq >= 0 && series[k.updateSq].count > 0;
    w.kappa = evaluator.quantile(thinned, Derived.KAPPA, rec, geometryCovered, 0.5);
    checks.oscillation(w);
    // The sliced W costs a τ̂ and four sorts per projection: refreshed once per window (every
    // 10th evaluation), which keeps the amortised cost per record bounded (bench/RunCoreBenchmark).
    if (w.evaluations % 10 == 1 || !w.driftCheck.available()) {
      evaluator.slicedWasserstein(thinned, projColumns, projCount, rec, covered, w);
    }
    w.sharpnessTrendUp = w.trendT > settings.zLeave();
    checks.safeStep(w, rec, geometryCovered, lr);
    runStart.judge(w, k.weightSq >= 0 ? series[k.weightSq].last : Double.NaN);
    // A baseline for the DIVERGED rule and the spike detector: a window near a noise floor (enough
    // ESS, neither falling nor rising), not one of a loss that is diverging from its first steps.
    boolean settled = w.lossN > 0 && (w.degenerate || w.lossEss >= settings.essMin()) && !w.lrDecaying
        && w.lossNoProgress;
    if (settled) {
      divergence.noteWindow(w.lossMedian, w.lossMax);
      if (!spikes.inSpike()) {
        spikes.noteWindow(w.lossMedian, w.lossMax);
      }
    }
    verdict(w, step, rec, covered);
    nextEvaluation = rec + settings.evaluateEvery(window);
    if (evaluations != null) {
      RunState state = machine.state();
      evaluations.evaluated(step, rec, state, RunStatistics.of(w, WindowDescription.of(evaluator, thinned, w), optimizer,
          emaAlpha, state == RunState.STALLED_NONSTATIONARY || state == RunState.CONVERGED));
    }
  }

  private void verdict(WindowStats w, long step, long rec, int covered) {
    latestJudged = false;
    RunState state = machine.state();
    if (state == RunState.DIVERGED) {
      return;
    }
    Reasons.Context cx = context();
    if (w.lrDecaying) {
      RunState fact = w.energyObserved && w.converged ? RunState.CONVERGED : RunState.PROGRESSING;
      if (fact != state) {
        enter(fact, step, reasons.of(fact, w, cx), false);
      }
      return;
    }
    if (covered < settings.windowMin()) {
      return; // too little evidence since the last learning-rate change
    }
    RunState candidate = machine.candidate(w, lossWindow.count() > 0);
    latestJudged = true;
    latestCandidate = candidate;
    if (machine.offer(candidate, rec - covered, rec)) {
      enter(candidate, step, reasons.of(candidate, w, cx), false);
    }
  }

  private Reasons.Context context() {
    return new Reasons.Context(optimizer, lastLr(), emaAlpha, !emaAlphaGiven);
  }

  /**
   * Records the geometry's statistics span: the window's, or over blocks of k steps at least
   * {@link #BLOCK_ROWS_PER_WINDOW}·k records (within the records since the evidence restarted
   * and the longest window). Over blocks the geometry's rows are k records apart, and a window
   * sized for the loss would hold a handful; the loss tests keep their window, so a run
   * measured over blocks is judged on its loss as fast as one measured every step, while Π,
   * R2, the energy and the step-size geometry wait for enough blocks (docs/math.md §4). The
   * price: two consecutive windows' geometry spans may overlap.
   */
  private int geometrySpan(int covered, long age) {
    double k = blockSteps();
    if (k <= 1) {
      return covered;
    }
    long span = Math.min(Math.min((long) Math.ceil(BLOCK_ROWS_PER_WINDOW * k), age), settings.windowMax());
    return (int) Math.max(covered, span / BlockSums.BLOCK * BlockSums.BLOCK);
  }

  /** Steps per geometry block of the latest block the agent sent (1 for one-step updates). */
  private double blockSteps() {
    double k = this.k.updateSteps >= 0 ? series[this.k.updateSteps].last : Double.NaN;
    return k >= 1 ? k : 1;
  }

  private double lastLr() {
    return k.lr >= 0 ? series[k.lr].last : Double.NaN;
  }

  /**
   * The run's durable log was damaged and salvaged (docs/operations.md, "Durability"): records and
   * bytes lost are counted and shown, and the run gets an event saying where the originals are.
   */
  public void onStoreDamage(long lostRecords, long lostBytes, List<String> details) {
    storeCorruptRecords += lostRecords;
    storeCorruptBytes += lostBytes;
    List<String> why = new ArrayList<>();
    why.add(Reasons.f("record log damaged: %d record(s) and %d byte(s) lost; every later entry whose checksum "
        + "validates was kept", lostRecords, lostBytes));
    why.addAll(details);
    event(lastStep, machine.state(), why);
  }

  /** BYE from the run's last rank: the lifecycle ends, the verdict stays. */
  public void onFinished(String endStatus, String message, long receivedNanos) {
    lifecycle.finished(endStatus, message, receivedNanos);
  }

  /**
   * Advances the lifecycle clock: a live run with no data for {@code silenceTimeoutNanos}
   * becomes silent.
   */
  public void onTick(long nowNanos, long silenceTimeoutNanos) {
    lifecycle.tick(nowNanos, silenceTimeoutNanos);
  }

  /** True when the run is finished or silent and has been for longer than {@code retentionNanos}. */
  public boolean expired(long nowNanos, long retentionNanos) {
    return lifecycle.expired(nowNanos, retentionNanos);
  }

  public RunStatus status() {
    return lifecycle.status();
  }

  public RunState state() {
    return machine.state();
  }

  public long steps() {
    return records;
  }

  /** The current window W in records (calibration and tests). */
  int windowForTests() {
    return window;
  }

  private String nonfiniteReason(StepRecord r) {
    double loss = value(r, k.loss);
    if (has(k.loss) && !Double.isFinite(loss)) {
      return "loss is " + loss + " at step " + r.step;
    }
    double g = value(r, k.gradSq);
    if (has(k.gradSq) && !Double.isFinite(g)) {
      return "grad_sq is " + g + " at step " + r.step;
    }
    double nf = value(r, k.nonfinite);
    if (nf > 0) {
      return "agent counted " + (long) nf + " non-finite values in the gradient or weights at step " + r.step;
    }
    return null;
  }

  private void enter(RunState next, long step, List<String> why, boolean byRule) {
    RunState from = machine.state();
    machine.enter(next, step, byRule);
    if (from != next) {
      event(step, from, why);
    }
  }

  private void event(long step, RunState from, List<String> why) {
    events.add(new RunEvent(step, from, machine.state(), why));
  }

  /** The latest event (a state change or a loss spike), for the pipeline's one log line per event. */
  public RunEvent lastEvent() {
    return events.last();
  }

  /** Rough bytes held by this run's analytics (the memory bound of the class comment). */
  public long approximateBytes() {
    long thinnedBytes = (long) thinned.columns() * THINNED_ROWS * 8 + THINNED_ROWS * 8L;
    long loss = 8L * lossWindow.capacity();
    long blockBytes = 8L * BlockSums.Sum.COUNT * (2L * settings.windowMax() / BlockSums.BLOCK + 4);
    long scratch = 8L * (2 * settings.windowMax() + 2L * THINNED_ROWS + 2L * Math.max(THINNED_ROWS, settings.windowMax()));
    long hist = 0;
    for (History h : history) {
      hist += h == null ? 0 : 16L * settings.historyPoints();
    }
    long perSeries = series.length * 400L;
    return thinnedBytes + loss + blockBytes + scratch + hist + perSeries + 16L * settings.divergenceWindow() + 16 * 1024;
  }

  /** What the world sees of the run now. Reads the core; writes nothing of it. */
  public RunSnapshot snapshot() {
    WindowStats w = stats;
    ColumnStats columns = null;
    WindowDescription d = new WindowDescription();
    String degraded = null;
    try {
      // The descriptive statistics are the part of a snapshot that reads every value of every
      // thinned column: whatever a run sent, a failure here must cost it its window statistics,
      // not the snapshot (and never another run's, or a listing: issue 15).
      if (w.evaluations > 0) {
        columns = new ColumnStats(thinned.columns());
        for (int c = 0; c < thinned.columns(); c++) {
          evaluator.columnStatistics(thinned, c, w.atRecord, w.windowRecords, w.tau, w.stride, columns);
        }
      }
      d = WindowDescription.of(evaluator, thinned, w);
    } catch (RuntimeException e) {
      columns = null;
      d = new WindowDescription();
      degraded = "window statistics unavailable for this snapshot: " + e;
    }
    List<SeriesSnapshot> ss = new ArrayList<>(series.length);
    for (int i = 0; i < series.length; i++) {
      History h = history[i];
      ss.add(series[i].snapshot(columns, Derived.COUNT + i,
          h == null ? new long[0] : h.steps(), h == null ? new double[0] : h.values()));
    }
    RunState state = machine.state();
    List<String> why = stateReasons.of(state, events.lastStateChange(), w, records, latestJudged, latestCandidate,
        context());
    if (degraded != null) {
      why = new ArrayList<>(why);
      why.add(degraded);
    }
    boolean stationary = state == RunState.STALLED_NONSTATIONARY || state == RunState.CONVERGED;
    return new RunSnapshot(run, job, labels, world, mode, state, machine.since(), lifecycle.status(), why, records,
        lastStep, lastRecordTimeNanos, last(k.loss), gradNorm(), last(k.lr), lrPhases.burnInStep(), rewinds, partialSteps,
        lifecycle.endStatus(), lifecycle.endMessage(), ss, events.list(),
        RunStatistics.of(w, d, optimizer, emaAlpha, stationary), tailLoss(), storeCorruptRecords, storeCorruptBytes);
  }

  private double[] tailLoss() {
    double[] window = new double[Math.min(Math.max(stats.windowRecords, 1), lossWindow.capacity())];
    int n = lossWindow.copyLast(window.length, 0, window);
    int m = Math.min(n, 256);
    double[] out = new double[m];
    for (int i = 0; i < m; i++) {
      out[i] = window[(int) ((long) i * n / m)];
    }
    return out;
  }

  private double last(int index) {
    return index < 0 ? Double.NaN : series[index].last;
  }

  private double gradNorm() {
    double g = last(k.gradSq);
    return g >= 0 || Double.isNaN(g) ? Math.sqrt(g) : g;
  }
}
