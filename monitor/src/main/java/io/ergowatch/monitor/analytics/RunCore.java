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
 * <p>Backbone scope: steps, last values, loss, grad norm, lr, the per-series ergodic means
 * (restarted when the learning rate moves by more than 10%), and the verdict rules that need
 * no stationarity statistics: WARMUP, and DIVERGED (non-finite loss or gradient at once, or
 * the 200-step median loss rule of docs/math.md §5). The full estimator set plugs in here.
 *
 * <pre>{@code
 * RunCore core = new RunCore("r1", "job", Map.of(), AnalyticsSettings.defaults());
 * int loss = core.seriesIndex("loss");
 * core.onRecord(new StepRecord(4).reset(1, t).put(loss, 0.7));
 * RunSnapshot s = core.snapshot();
 * }</pre>
 */
public final class RunCore {
  private static final int MAX_EVENTS = 100;

  private final String run;
  private final String job;
  private final AnalyticsSettings settings;
  private final Map<String, String> labels = new LinkedHashMap<>();
  private final Map<String, Integer> indexByName = new HashMap<>();
  private SeriesAccumulator[] series = new SeriesAccumulator[0];
  private final DivergenceDetector divergence;
  private final ArrayDeque<RunEvent> events = new ArrayDeque<>();

  private int world = 1;
  private String mode = "replicated";
  private int lossIndex = -1;
  private int gradSqIndex = -1;
  private int lrIndex = -1;
  private int nonfiniteIndex = -1;

  private long steps;
  private long lastStep = -1;
  private long lastRecordTimeNanos;
  private long rewinds;
  private long partialSteps;
  private double burnInLr = Double.NaN;
  private long burnInStep;

  private RunState state = RunState.WARMUP;
  private long stateSince;
  private List<String> why = List.of("warmup: 0 of " + 200 + " steps");
  private String nonfiniteReason;

  private RunStatus status = RunStatus.LIVE;
  private long lastReceivedNanos;
  private String endStatus = "";
  private String endMessage = "";

  public RunCore(String run, String job, Map<String, String> labels, AnalyticsSettings settings) {
    this.run = run;
    this.job = job;
    this.settings = settings;
    this.labels.putAll(labels);
    this.divergence = new DivergenceDetector(settings.divergenceWindow(), settings.divergenceFactor(),
        settings.divergenceEvaluations(), settings.evaluateEvery());
    this.why = List.of(warmupReason());
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
    indexByName.put(name, i);
    switch (name) {
      case "loss": lossIndex = i; break;
      case "grad_sq": gradSqIndex = i; break;
      case "lr": lrIndex = i; break;
      case "nonfinite": nonfiniteIndex = i; break;
      default: break;
    }
    return i;
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
    this.status = RunStatus.LIVE;
    this.lastReceivedNanos = Math.max(lastReceivedNanos, receivedNanos);
  }

  /** Processes one assembled record. Allocation-free unless the verdict changes. */
  public void onRecord(StepRecord r, long receivedNanos) {
    steps++;
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
    maybeRestartBurnIn(r);
    for (int k = 0; k < r.presentCount; k++) {
      int i = r.present[k];
      series[i].accept(r.step, r.values[i]);
    }
    evaluate(r);
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
    return state;
  }

  public long steps() {
    return steps;
  }

  private void maybeRestartBurnIn(StepRecord r) {
    if (lrIndex < 0 || !isPresent(r, lrIndex)) {
      return;
    }
    double lr = r.values[lrIndex];
    if (!Double.isFinite(lr)) {
      return;
    }
    if (Double.isNaN(burnInLr)) {
      burnInLr = lr;
      return;
    }
    double ref = Math.abs(burnInLr);
    if (Math.abs(lr - burnInLr) > settings.burnInLrChange() * ref) {
      for (SeriesAccumulator s : series) {
        s.restartMean();
      }
      burnInLr = lr;
      burnInStep = r.step;
    }
  }

  private static boolean isPresent(StepRecord r, int index) {
    for (int k = 0; k < r.presentCount; k++) {
      if (r.present[k] == index) {
        return true;
      }
    }
    return false;
  }

  private void evaluate(StepRecord r) {
    if (state == RunState.DIVERGED) {
      return; // kept once entered (docs/math.md §5)
    }
    if (nonfiniteReason == null) {
      nonfiniteReason = nonfiniteReason(r);
    }
    if (nonfiniteReason != null) {
      enter(RunState.DIVERGED, r.step, List.of(nonfiniteReason));
      return;
    }
    if (lossIndex >= 0 && isPresent(r, lossIndex) && divergence.accept(r.values[lossIndex])) {
      enter(RunState.DIVERGED, r.step, List.of(String.format(
          "loss blew up: median of the last %d losses %.6g > %.0f x the smallest such median %.6g, for %d evaluations",
          divergence.window(), divergence.lastMedian(), divergence.factor(), divergence.minMedian(),
          settings.divergenceEvaluations())));
      return;
    }
    if (steps < settings.warmupSteps()) {
      if (steps % settings.evaluateEvery() == 0) {
        why = List.of(warmupReason());
      }
      return;
    }
    if (state == RunState.WARMUP) {
      enter(RunState.PROGRESSING, r.step, List.of(
          "warmup over: " + steps + " steps",
          "no non-finite loss or gradient; loss median within "
              + (int) settings.divergenceFactor() + "x of its best"));
    }
  }

  private String nonfiniteReason(StepRecord r) {
    for (int k = 0; k < r.presentCount; k++) {
      int i = r.present[k];
      double v = r.values[i];
      if ((i == lossIndex || i == gradSqIndex) && !Double.isFinite(v)) {
        return series[i].name + " is " + v + " at step " + r.step;
      }
      if (i == nonfiniteIndex && v > 0) {
        return "agent counted " + (long) v + " non-finite values in the gradient or weights at step " + r.step;
      }
    }
    return null;
  }

  private String warmupReason() {
    return "warmup: " + steps + " of " + settings.warmupSteps() + " steps";
  }

  private void enter(RunState next, long step, List<String> reasons) {
    RunState from = state;
    state = next;
    stateSince = step;
    why = List.copyOf(reasons);
    if (from != next) {
      events.addLast(new RunEvent(step, from, next, why));
      if (events.size() > MAX_EVENTS) {
        events.removeFirst();
      }
    }
  }

  /** The latest state change not yet handed out, for the pipeline's one log line per change. */
  public RunEvent lastEvent() {
    return events.peekLast();
  }

  public RunSnapshot snapshot() {
    List<SeriesSnapshot> ss = new ArrayList<>(series.length);
    for (SeriesAccumulator s : series) {
      ss.add(s.snapshot());
    }
    return new RunSnapshot(run, job, labels, world, mode, state, stateSince, status, why, steps, lastStep,
        lastRecordTimeNanos, last(lossIndex), gradNorm(), last(lrIndex), burnInStep, rewinds,
        partialSteps, endStatus, endMessage, ss, new ArrayList<>(events));
  }

  private double last(int index) {
    return index < 0 ? Double.NaN : series[index].last;
  }

  private double gradNorm() {
    double g = last(gradSqIndex);
    return g >= 0 || Double.isNaN(g) ? Math.sqrt(g) : g;
  }
}
