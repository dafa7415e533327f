package io.ergowatch.monitor.analytics;

import java.util.ArrayDeque;
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
 * <p>Per record (full resolution, no allocation): last values, ergodic means with their
 * batch-means standard errors, EWMAs, the loss ring, the DIVERGED rules, and a thinned row of
 * every series and derived quantity. Every max(⌊W/10⌋, 20) records: one window evaluation
 * ({@link WindowEvaluator}) and the verdict ({@link Verdicts}) with hysteresis.
 *
 * <p>Memory per run is bounded: the loss ring holds W_max finite losses (16384 × 8 B), the
 * thinned window 512 rows × (17 derived + n series) columns, 256-point histories for six
 * series, per-series O(1) estimators, and the evaluator's scratch arrays (512 KiB). Measured:
 * 0.95 MiB per run with 40 series and full windows (bench MemoryPerRun; estimate in
 * {@link #approximateBytes()}).
 *
 * <pre>{@code
 * RunCore core = new RunCore("r1", "job", Map.of(), AnalyticsSettings.defaults());
 * int loss = core.seriesIndex("loss");
 * core.onRecord(new StepRecord(4).reset(1, t).put(loss, 0.7), receivedNanos);
 * RunSnapshot s = core.snapshot();
 * }</pre>
 */
public final class RunCore {
  private static final int MAX_EVENTS = 100;
  static final int THINNED_ROWS = 512;
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
  private final DivergenceDetector divergence;
  private final ArrayDeque<RunEvent> events = new ArrayDeque<>();
  private final LossWindow lossWindow;
  private final ThinnedWindow thinned = new ThinnedWindow(THINNED_ROWS);
  private final WindowEvaluator evaluator;
  private final WindowStats stats = new WindowStats();
  private final Verdicts verdicts;
  private final int[] rows = new int[1];
  private final double[] pair = new double[2];
  private OptimizerProfile optimizer;

  private int world = 1;
  private String mode = "replicated";
  private final WellKnown k = new WellKnown();

  private long records;
  private long lastStep = -1;
  private long lastRecordTimeNanos;
  private long rewinds;
  private long partialSteps;
  private double burnInLr = Double.NaN;
  private long burnInStep;
  private double lossPeak;
  private double prevUpdateSq = Double.NaN;
  private boolean prevUpdateNil = true;
  private long nextEvaluation;
  private int window;

  private RunStatus status = RunStatus.LIVE;
  private long lastReceivedNanos;
  private String endStatus = "";
  private String endMessage = "";

  public RunCore(String run, String job, Map<String, String> labels, AnalyticsSettings settings) {
    this.run = run;
    this.job = job;
    this.settings = settings.validate();
    this.labels.putAll(labels);
    this.optimizer = OptimizerProfile.from(this.labels);
    this.divergence = new DivergenceDetector(settings.divergenceWindow(), settings.divergenceFactor(),
        settings.divergenceEvaluations(), settings.divergenceEvery());
    this.lossWindow = new LossWindow(settings.windowMax());
    this.evaluator = new WindowEvaluator(settings, THINNED_ROWS);
    this.verdicts = new Verdicts(settings);
    this.window = settings.windowMin();
    this.stats.window = window;
    this.nextEvaluation = settings.warmupSteps();
    thinned.ensureColumns(Derived.COUNT);
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
    this.optimizer = OptimizerProfile.from(this.labels);
    this.status = RunStatus.LIVE;
    this.lastReceivedNanos = Math.max(lastReceivedNanos, receivedNanos);
  }

  /** Processes one assembled record. Allocation-free unless the verdict changes. */
  public void onRecord(StepRecord r, long receivedNanos) {
    long rec = ++records;
    lastStep = r.step;
    lastRecordTimeNanos = r.agentTimeNanos;
    lastReceivedNanos = receivedNanos;
    if (status != RunStatus.FINISHED) {
      status = RunStatus.LIVE;
    }
    if (r.rewind) {
      rewinds++;
    }
    if (r.partial) {
      partialSteps++;
    }
    for (int j = 0; j < r.presentCount; j++) {
      presentAt[r.present[j]] = rec;
    }
    maybeRestartBurnIn(r);
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
      lossWindow.add(loss);
      lossPeak = Math.max(lossPeak, Math.abs(loss));
    }
    if (verdicts.state() != RunState.DIVERGED) {
      String nonfinite = nonfiniteReason(r);
      if (nonfinite != null) {
        enter(RunState.DIVERGED, r.step, List.of(nonfinite));
      } else if (Double.isFinite(loss) && divergence.accept(loss)) {
        enter(RunState.DIVERGED, r.step, List.of(String.format(
            "loss blew up: median of the last %d losses %.6g > %.0f x the smallest such median %.6g, for %d evaluations",
            divergence.window(), divergence.lastMedian(), divergence.factor(), divergence.minMedian(),
            settings.divergenceEvaluations())));
      }
    }
    sharpness(r);
    thin(r, rec);
    if (rec >= nextEvaluation) {
      evaluate(r.step);
    }
  }

  private double value(StepRecord r, int index) {
    return index >= 0 && presentAt[index] == records ? r.values[index] : Double.NaN;
  }

  private boolean has(int index) {
    return index >= 0 && presentAt[index] == records;
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

  /** Per-record derived quantities, and a thinned row every stride-th record. */
  private void thin(StepRecord r, long rec) {
    double us = value(r, k.updateSq);
    double ws = value(r, k.weightSq);
    boolean nil = !(us >= settings.nilUpdate() * Math.max(Double.isFinite(ws) ? ws : 1, 1));
    double prevUs = prevUpdateSq;
    boolean prevNil = prevUpdateNil;
    if (has(k.updateSq)) {
      prevUpdateSq = us;
      prevUpdateNil = nil;
    } else {
      prevUpdateSq = Double.NaN;
      prevUpdateNil = true;
    }
    if (rec % stats.stride != 0) {
      return;
    }
    int row = thinned.beginRow(rec);
    for (int j = 0; j < r.presentCount; j++) {
      int i = r.present[j];
      double v = r.values[i];
      if (Double.isFinite(v)) {
        thinned.set(row, Derived.COUNT + i, v);
      }
    }
    double lr = value(r, k.lr);
    double gsq = value(r, k.gradSq);
    referenceGeometry(row, value(r, k.emaGradDot), value(r, k.emaDistSq), gsq, Derived.RSI_EMA);
    referenceGeometry(row, value(r, k.refGradDot), value(r, k.refDistSq), value(r, k.refGradSq), Derived.RSI_REF);
    double udp = value(r, k.updateDotPrev);
    if (Double.isFinite(udp) && !nil && !prevNil && prevUs > 0 && us > 0) {
      setFinite(row, Derived.KAPPA, udp / Math.sqrt(us * prevUs));
      setFinite(row, Derived.R2_NUM, us + prevUs + 2 * udp);
      setFinite(row, Derived.R2_DEN, us + prevUs);
    }
    double eud = value(r, k.emaUpdateDot);
    if (Double.isFinite(eud) && !nil) {
      thinned.set(row, Derived.PI_NUM, eud);
      thinned.set(row, Derived.PI_DEN, us);
    }
    double gl = value(r, k.gradLocalSq);
    double bb = value(r, k.batchSize);
    double bs = value(r, k.localBatchSize);
    if (Double.isFinite(gsq) && Double.isFinite(gl) && bb > bs && bs > 0) {
      double gNum = bb * gsq - bs * gl;
      double gDen = bb - bs;
      thinned.set(row, Derived.SIG_G_NUM, gNum);
      thinned.set(row, Derived.SIG_G_DEN, gDen);
      thinned.set(row, Derived.SIG_S_NUM, gl - gsq);
      thinned.set(row, Derived.SIG_S_DEN, 1 / bs - 1 / bb);
      thinned.set(row, Derived.SIG_G_STEP, gNum / gDen);
    }
    if (Double.isFinite(us)) {
      thinned.set(row, Derived.ENERGY, us);
    } else if (Double.isFinite(gsq) && Double.isFinite(lr)) {
      thinned.set(row, Derived.ENERGY, lr * lr * gsq);
    }
  }

  /**
   * RSI, EB, γ and η* of one reference point (math.md §1–§2) from ⟨g, w − c⟩, ‖w − c‖² and
   * ‖g‖²; the four columns follow {@code rsiColumn} in the order of {@link Derived}.
   */
  private void referenceGeometry(int row, double gradDot, double distSq, double gradSq, int rsiColumn) {
    int eb = rsiColumn + 1;
    int gamma = rsiColumn + 2;
    int etaStar = rsiColumn == Derived.RSI_EMA ? Derived.ETA_STAR_EMA : Derived.ETA_STAR_REF;
    if (gradSq > 0 && Double.isFinite(gradDot)) {
      setFinite(row, etaStar, gradDot / gradSq);
    }
    if (distSq > 0 && Double.isFinite(gradDot)) {
      double rsi = gradDot / distSq;
      setFinite(row, rsiColumn, rsi);
      if (gradSq >= 0) {
        double ebValue = Math.sqrt(gradSq / distSq);
        setFinite(row, eb, ebValue);
        setFinite(row, gamma, rsi / ebValue);
      }
    }
  }

  private void setFinite(int row, int column, double v) {
    if (Double.isFinite(v)) {
      thinned.set(row, column, v);
    }
  }

  /** One window evaluation and the verdict that follows from it (docs/math.md §4–§5). */
  private void evaluate(long step) {
    WindowStats w = stats;
    w.evaluations++;
    w.atStep = step;
    w.atRecord = records;
    double tau = lossWindow.count() >= 8 ? evaluator.estimateTau(lossWindow, window, w.tau) : 1;
    w.tau = tau;
    window = (int) Math.min(settings.windowMax(), Math.max(settings.windowMin(), Math.ceil(50 * tau)));
    w.window = window;
    w.windowTooShort = tau > settings.windowMax() / 50.0;
    if (lossWindow.count() > 0) {
      evaluator.lossStatistics(lossWindow, lossPeak, w);
    } else {
      w.lossN = 0;
      w.lossStationary = false;
    }
    geometry(w);
    w.stride = Math.max(1, (int) Math.ceil(tau / 4));
    RunState candidate = verdicts.candidate(w, lossWindow.count() > 0);
    RunState before = verdicts.state();
    if (verdicts.offer(candidate) && before != RunState.DIVERGED) {
      describe(w);
      enter(candidate, step, verdicts.reasons(candidate, w, optimizer, lastLr()));
    }
    nextEvaluation = records + settings.evaluateEvery(window);
  }

  private double lastLr() {
    return k.lr >= 0 ? series[k.lr].last : Double.NaN;
  }

  /** What the verdict needs, every evaluation: Π, κ, R2, the update energy, the sliced-W drift. */
  private void geometry(WindowStats w) {
    long now = records;
    int win = w.window;
    w.pi = -2 * evaluator.ratioOfSums(thinned, Derived.PI_NUM, Derived.PI_DEN, now, win, rows);
    w.piN = rows[0];
    w.kappa = evaluator.quantile(thinned, Derived.KAPPA, now, win, 0.5);
    w.r2 = evaluator.ratioOfSums(thinned, Derived.R2_NUM, Derived.R2_DEN, now, win, rows);
    w.oscN = rows[0];
    double energy = evaluator.mean(thinned, Derived.ENERGY, now, win);
    w.energyObserved = Double.isFinite(energy);
    w.energy = energy;
    if (w.energyObserved) {
      w.energyMax = Double.isNaN(w.energyMax) ? energy : Math.max(w.energyMax, energy);
      w.converged = energy == 0 || energy <= settings.convergedRatio() * w.energyMax;
    } else {
      w.converged = false;
    }
    w.updatesObserved = k.updateSq >= 0 && series[k.updateSq].count > 0;
    // Sliced W over 32 projections costs ~4 sorts each: refreshed once per window (every 10th
    // evaluation), which keeps the amortised cost per record bounded (bench/RunCoreBenchmark).
    if (w.evaluations % 10 == 1 || !Double.isFinite(w.sw)) {
      evaluator.slicedWasserstein(thinned, projColumns, projCount, now, w);
    }
    w.sharpnessTrendUp = w.trendT > settings.trendT();
  }

  /**
   * The descriptive statistics of the window that no verdict rule reads (RSI/EB/γ/η* quantiles,
   * lr_safe, the gradient signal and noise scale): computed for snapshots and for the reasons of
   * a state change, not at every evaluation, which halves the cost of an evaluation.
   */
  private void describe(WindowStats w) {
    if (w.evaluations == 0 || w.describedAt == w.evaluations) {
      return;
    }
    w.describedAt = w.evaluations;
    long now = w.atRecord;
    int win = w.window;
    double[] q = pair;
    evaluator.quantiles(thinned, Derived.RSI_EMA, now, win, 0.05, 0.5, q);
    w.rsiEmaQ05 = q[0];
    w.rsiEmaQ50 = q[1];
    evaluator.quantiles(thinned, Derived.EB_EMA, now, win, 0.5, 0.95, q);
    w.ebEmaQ50 = q[0];
    w.ebEmaQ95 = q[1];
    w.gammaEma = evaluator.quantile(thinned, Derived.GAMMA_EMA, now, win, 0.5);
    evaluator.quantiles(thinned, Derived.RSI_REF, now, win, 0.05, 0.5, q);
    w.rsiRefQ05 = q[0];
    w.rsiRefQ50 = q[1];
    evaluator.quantiles(thinned, Derived.EB_REF, now, win, 0.5, 0.95, q);
    w.ebRefQ50 = q[0];
    w.ebRefQ95 = q[1];
    w.gammaRef = evaluator.quantile(thinned, Derived.GAMMA_REF, now, win, 0.5);
    w.etaStarEma = evaluator.quantile(thinned, Derived.ETA_STAR_EMA, now, win, 0.5);
    w.etaStarRef = evaluator.quantile(thinned, Derived.ETA_STAR_REF, now, win, 0.5);
    // The lagged reference is exact (a fixed later point); the EMA one is online but biased
    // while the run still progresses, so lr_safe prefers the lagged one (math.md §4).
    if (Double.isFinite(w.rsiRefQ05) && Double.isFinite(w.ebRefQ95)) {
      w.muHat = w.rsiRefQ05;
      w.lHat = w.ebRefQ95;
      w.geometryReference = "lagged";
    } else if (Double.isFinite(w.rsiEmaQ05) && Double.isFinite(w.ebEmaQ95)) {
      w.muHat = w.rsiEmaQ05;
      w.lHat = w.ebEmaQ95;
      w.geometryReference = "ema";
    } else {
      w.muHat = Double.NaN;
      w.lHat = Double.NaN;
      w.geometryReference = "";
    }
    if (Double.isFinite(w.muHat) && w.lHat > 0) {
      // μ̂ ≤ 0: along this path no step size is guaranteed to contract (lr_safe 0, ratio +Inf).
      w.lrSafe = Math.max(0, 2 * w.muHat / (w.lHat * w.lHat));
      double lr = lastLr();
      w.lrRatio = lr / w.lrSafe;
    } else {
      w.lrSafe = Double.NaN;
      w.lrRatio = Double.NaN;
    }
    double gSum = evaluator.ratioOfSums(thinned, Derived.SIG_G_NUM, Derived.SIG_G_DEN, now, win, rows);
    int gN = rows[0];
    if (gN > 0) {
      w.signalIdentified = true;
      w.signal = gSum;
      w.noiseScale = evaluator.ratioOfSums(thinned, Derived.SIG_S_NUM, Derived.SIG_S_DEN, now, win, rows);
      w.batchNoise = w.noiseScale / w.signal;
      double sd = evaluator.sd(thinned, Derived.SIG_G_STEP, now, win, rows);
      double effective = rows[0] / Math.max(1, w.tau / w.stride);
      w.signalStderr = sd / Math.sqrt(Math.max(1, effective));
    } else {
      w.signalIdentified = false;
      w.noiseScale = Double.NaN;
      w.batchNoise = Double.NaN;
      if (k.gradSq >= 0) {
        int c = Derived.COUNT + k.gradSq;
        w.signal = evaluator.mean(thinned, c, now, win);
        double sd = evaluator.sd(thinned, c, now, win, rows);
        w.signalStderr = sd / Math.sqrt(Math.max(1, rows[0] / Math.max(1, w.tau / w.stride)));
      } else {
        w.signal = Double.NaN;
        w.signalStderr = Double.NaN;
      }
    }
  }

  /** BYE from the run's last rank: the lifecycle ends, the verdict stays. */
  public void onFinished(String endStatus, String message, long receivedNanos) {
    this.status = RunStatus.FINISHED;
    this.endStatus = endStatus;
    this.endMessage = message;
    this.lastReceivedNanos = Math.max(lastReceivedNanos, receivedNanos);
  }

  /**
   * Advances the lifecycle clock: a live run with no data for {@code silenceTimeoutNanos}
   * becomes silent.
   */
  public void onTick(long nowNanos, long silenceTimeoutNanos) {
    if (status == RunStatus.LIVE && nowNanos - lastReceivedNanos > silenceTimeoutNanos) {
      status = RunStatus.SILENT;
    }
  }

  /** True when the run is finished or silent and has been for longer than {@code retentionNanos}. */
  public boolean expired(long nowNanos, long retentionNanos) {
    return status != RunStatus.LIVE && nowNanos - lastReceivedNanos > retentionNanos;
  }

  public RunStatus status() {
    return status;
  }

  public RunState state() {
    return verdicts.state();
  }

  public long steps() {
    return records;
  }

  private void maybeRestartBurnIn(StepRecord r) {
    double lr = value(r, k.lr);
    if (!Double.isFinite(lr)) {
      return;
    }
    if (Double.isNaN(burnInLr)) {
      burnInLr = lr;
      return;
    }
    if (Math.abs(lr - burnInLr) > settings.burnInLrChange() * Math.abs(burnInLr)) {
      for (SeriesAccumulator s : series) {
        s.restartMean();
      }
      burnInLr = lr;
      burnInStep = r.step;
    }
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

  private void enter(RunState next, long step, List<String> reasons) {
    RunState from = verdicts.state();
    verdicts.enter(next, step);
    if (from != next) {
      events.addLast(new RunEvent(step, from, next, reasons));
      if (events.size() > MAX_EVENTS) {
        events.removeFirst();
      }
    }
  }

  /** The latest state change, for the pipeline's one log line per change. */
  public RunEvent lastEvent() {
    return events.peekLast();
  }

  /** Rough bytes held by this run's analytics (the memory bound of the class comment). */
  public long approximateBytes() {
    long thinnedBytes = (long) thinned.columns() * THINNED_ROWS * 8 + THINNED_ROWS * 8L;
    long loss = 8L * lossWindow.capacity();
    long scratch = 8L * (2 * settings.windowMax() + 2L * THINNED_ROWS + 2L * Math.max(THINNED_ROWS, settings.windowMax()));
    long hist = 0;
    for (History h : history) {
      hist += h == null ? 0 : 16L * settings.historyPoints();
    }
    long perSeries = series.length * 400L;
    return thinnedBytes + loss + scratch + hist + perSeries + 8L * settings.divergenceWindow() * 2 + 16 * 1024;
  }

  public RunSnapshot snapshot() {
    describe(stats);
    if (stats.evaluations > 0) {
      stats.ensureColumns(thinned.columns());
      for (int c = 0; c < thinned.columns(); c++) {
        evaluator.columnStatistics(thinned, c, records, stats);
      }
    }
    List<SeriesSnapshot> ss = new ArrayList<>(series.length);
    for (int i = 0; i < series.length; i++) {
      History h = history[i];
      ss.add(series[i].snapshot(stats, Derived.COUNT + i,
          h == null ? new long[0] : h.steps(), h == null ? new double[0] : h.values()));
    }
    RunState state = verdicts.state();
    List<String> why;
    if (state == RunState.DIVERGED || state == RunState.WARMUP && stats.evaluations == 0) {
      RunEvent last = events.peekLast();
      why = state == RunState.DIVERGED && last != null ? last.why()
          : List.of("warmup: " + records + " of " + settings.warmupSteps() + " records");
    } else {
      why = new ArrayList<>(verdicts.reasons(state, stats, optimizer, lastLr()));
      verdicts.pendingReason().ifPresent(why::add);
    }
    return new RunSnapshot(run, job, labels, world, mode, state, verdicts.since(), status, why, records, lastStep,
        lastRecordTimeNanos, last(k.loss), gradNorm(), last(k.lr), burnInStep, rewinds, partialSteps, endStatus,
        endMessage, ss, new ArrayList<>(events), RunStatistics.of(stats, optimizer), tailLoss());
  }

  private double[] tailLoss() {
    double[] window = new double[Math.min(this.window, lossWindow.capacity())];
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

  /** Indices of the well-known series in this run, -1 where the run does not send one. */
  static final class WellKnown {
    int loss = -1;
    int lr = -1;
    int gradSq = -1;
    int gradLocalSq = -1;
    int batchSize = -1;
    int localBatchSize = -1;
    int nonfinite = -1;
    int weightSq = -1;
    int updateSq = -1;
    int updateDotPrev = -1;
    int emaGradDot = -1;
    int emaDistSq = -1;
    int emaUpdateDot = -1;
    int refGradDot = -1;
    int refDistSq = -1;
    int refGradSq = -1;
    int sharpness = -1;

    void assign(String name, int i) {
      switch (name) {
        case "loss": loss = i; break;
        case "lr": lr = i; break;
        case "grad_sq": gradSq = i; break;
        case "grad_local_sq": gradLocalSq = i; break;
        case "batch_size": batchSize = i; break;
        case "local_batch_size": localBatchSize = i; break;
        case "nonfinite": nonfinite = i; break;
        case "weight_sq": weightSq = i; break;
        case "update_sq": updateSq = i; break;
        case "update_dot_prev": updateDotPrev = i; break;
        case "ema_grad_dot": emaGradDot = i; break;
        case "ema_dist_sq": emaDistSq = i; break;
        case "ema_update_dot": emaUpdateDot = i; break;
        case "ref_grad_dot": refGradDot = i; break;
        case "ref_dist_sq": refDistSq = i; break;
        case "ref_grad_sq": refGradSq = i; break;
        case "sharpness": sharpness = i; break;
        default: break;
      }
    }
  }
}
