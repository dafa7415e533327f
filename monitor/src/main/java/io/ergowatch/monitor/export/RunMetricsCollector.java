package io.ergowatch.monitor.export;

import io.ergowatch.monitor.analytics.JobAnalytics;
import io.ergowatch.monitor.analytics.JobSnapshot;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.analytics.RunState;
import io.ergowatch.monitor.analytics.RunStatistics;
import io.ergowatch.monitor.analytics.RunStatus;
import io.ergowatch.monitor.analytics.SeriesSnapshot;
import io.ergowatch.monitor.pipeline.LagHistogram;
import io.ergowatch.monitor.pipeline.Pipeline;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.InfoSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Turns run snapshots into Prometheus metric families at scrape time: the per-run metrics of
 * docs/interfaces.md and the pipeline lag histogram. A run that leaves the pipeline's visible
 * set is simply no longer emitted. {@link #collect()} waits for the lanes (bounded), so the
 * HTTP layer calls the registry off the event loop.
 */
public final class RunMetricsCollector implements MultiCollector {
  /** HELLO labels copied onto ergowatch_run_info; anything else stays in the JSON API only. */
  public static final Set<String> INFO_LABELS = Set.of(
      "optimizer", "model", "dataset", "framework", "host", "seed", "lr", "batch_size", "beta1", "beta2",
      "momentum", "user", "git_commit", "experiment");

  private final Pipeline pipeline;
  private final Duration timeout;

  public RunMetricsCollector(Pipeline pipeline, Duration timeout) {
    this.pipeline = pipeline;
    this.timeout = timeout;
  }

  @Override
  public MetricSnapshots collect() {
    List<RunSnapshot> runs = pipeline.snapshots().block(timeout);
    Pipeline.LagSnapshot lag = pipeline.lag().block(timeout);
    List<MetricSnapshot> out = new ArrayList<>(toMetrics(runs == null ? List.of() : runs));
    if (lag != null) {
      out.add(lagHistogram(lag));
    }
    return new MetricSnapshots(out);
  }

  /** The per-run families for a list of snapshots (pure; tested directly). */
  public static List<MetricSnapshot> toMetrics(List<RunSnapshot> runs) {
    List<MetricSnapshot> out = new ArrayList<>();
    InfoSnapshot.Builder info = InfoSnapshot.builder().name("ergowatch_run")
        .help("One per run, with its metadata from HELLO (allow-listed keys)");
    GaugeSnapshot.Builder state = GaugeSnapshot.builder().name("ergowatch_run_state")
        .help("Health verdict of the run: 1 for the current state, 0 for the others");
    GaugeSnapshot.Builder status = GaugeSnapshot.builder().name("ergowatch_run_status")
        .help("Lifecycle of the run: 1 for live, silent or finished");
    CounterSnapshot.Builder steps = CounterSnapshot.builder().name("ergowatch_steps")
        .help("Step records processed for the run");
    CounterSnapshot.Builder corruptRecords = CounterSnapshot.builder().name("ergowatch_store_corrupt_records")
        .help("Records of the run's durable log lost to damage (the damaged segment is kept in quarantine)");
    CounterSnapshot.Builder corruptBytes = CounterSnapshot.builder().name("ergowatch_store_corrupt_bytes")
        .help("Bytes of the run's durable log lost to damage");
    for (RunSnapshot r : runs) {
      Labels base = Labels.of("run", r.run(), "job", r.job());
      Labels infoLabels = base;
      for (Map.Entry<String, String> l : new java.util.TreeMap<>(r.labels()).entrySet()) {
        if (INFO_LABELS.contains(l.getKey())) {
          infoLabels = infoLabels.add(l.getKey(), l.getValue());
        }
      }
      info.dataPoint(InfoSnapshot.InfoDataPointSnapshot.builder().labels(infoLabels).build());
      for (RunState s : RunState.values()) {
        state.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
            .labels(base.add("state", s.label())).value(s == r.state() ? 1 : 0).build());
      }
      for (RunStatus s : RunStatus.values()) {
        status.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
            .labels(base.add("status", s.label())).value(s == r.status() ? 1 : 0).build());
      }
      steps.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(base).value(r.steps()).build());
      Labels runOnly = Labels.of("run", r.run());
      corruptRecords.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(runOnly)
          .value(r.storeCorruptRecords()).build());
      corruptBytes.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(runOnly)
          .value(r.storeCorruptBytes()).build());
    }
    out.add(info.build());
    out.add(state.build());
    out.add(status.build());
    out.add(steps.build());
    out.add(corruptRecords.build());
    out.add(corruptBytes.build());
    out.add(gauge(runs, "ergowatch_last_step", "Latest training step seen", r -> r.lastStep()));
    out.add(gauge(runs, "ergowatch_last_record_timestamp_seconds",
        "Agent wall clock of the latest record, Unix seconds", r -> r.lastRecordTimeNanos() / 1e9));
    out.add(gauge(runs, "ergowatch_loss", "Latest training loss (NaN and Inf are reported as sent)", RunSnapshot::loss));
    out.add(gauge(runs, "ergowatch_grad_norm", "Latest minibatch gradient norm, sqrt(grad_sq)", RunSnapshot::gradNorm));
    out.add(gauge(runs, "ergowatch_learning_rate", "Latest learning rate", RunSnapshot::learningRate));
    out.add(seriesGauge(runs, "ergowatch_series_ergodic_mean",
        "Cesaro mean of each series since its burn-in point (restarted when lr moves by more than 10%)",
        SeriesSnapshot::ergodicMean));
    out.add(seriesGauge(runs, "ergowatch_series_ergodic_stderr",
        "Monte-Carlo standard error of the ergodic mean (batch means)", SeriesSnapshot::ergodicStderr));
    out.add(seriesGauge(runs, "ergowatch_series_window_mean", "Mean of each series over the current window",
        SeriesSnapshot::windowMean));
    out.add(seriesGauge(runs, "ergowatch_series_drift",
        "W1 distance between the previous and the current window, over the window's sd", SeriesSnapshot::drift));
    out.add(seriesGauge(runs, "ergowatch_series_ess", "Effective sample size of the window", SeriesSnapshot::ess));
    out.add(seriesGauge(runs, "ergowatch_series_geweke_z",
        "Geweke z between the first 10% and the last 50% of the window", SeriesSnapshot::gewekeZ));
    out.add(seriesGauge(runs, "ergowatch_series_trend_t", "HAC t statistic of the window's OLS slope",
        SeriesSnapshot::trendT));
    GaugeSnapshot.Builder quantiles = GaugeSnapshot.builder().name("ergowatch_series_window_quantile")
        .help("Quantiles of each series over the current window (DDSketch, 1% relative accuracy)");
    for (RunSnapshot r : runs) {
      for (SeriesSnapshot s : r.series()) {
        double[] q = s.windowQuantiles();
        if (!exported(s.name()) || q.length == 0) {
          continue;
        }
        for (int i = 0; i < q.length; i++) {
          if (!Double.isNaN(q[i])) {
            quantiles.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                .labels(Labels.of("run", r.run(), "job", r.job(), "series", s.name(),
                    "q", Double.toString(SeriesSnapshot.QUANTILES[i])))
                .value(q[i]).build());
          }
        }
      }
    }
    out.add(quantiles.build());
    out.add(stat(runs, "ergowatch_gradient_signal",
        "Window estimate of the squared full-gradient norm |G|^2 (an upper estimate when the run sends one batch size)",
        RunStatistics::gradientSignal));
    out.add(stat(runs, "ergowatch_gradient_noise_scale", "Window estimate of the gradient noise tr(Sigma)",
        RunStatistics::noiseScale));
    out.add(stat(runs, "ergowatch_stationarity_ratio",
        "Pi, corrected for the moving EMA centre and momentum: 1 at stationarity, > 1 while contracting, < 1 under drift",
        RunStatistics::stationarityRatio));
    out.add(stat(runs, "ergowatch_stationarity_ratio_stderr", "Standard error of Pi",
        RunStatistics::stationarityRatioStderr));
    out.add(stat(runs, "ergowatch_weights_drift",
        "Sliced Wasserstein drift statistic of the weights' projections: W2^2 between windows over its null scale",
        RunStatistics::weightsDrift));
    out.add(stat(runs, "ergowatch_weights_drift_null",
        "The threshold the drift statistic is judged against (its null's 99th percentile)",
        RunStatistics::weightsDriftNull));
    out.add(stat(runs, "ergowatch_forecast_loss_if_annealed",
        "At a stationary state with constant step: the window mean loss minus the excess the step's noise holds",
        RunStatistics::forecastLossIfAnnealed));
    out.add(stat(runs, "ergowatch_forecast_loss_if_annealed_stderr", "Standard error of the forecast",
        RunStatistics::forecastStderr));
    out.add(stat(runs, "ergowatch_lr_safe", "2 mu / L^2 from the restricted secant inequality and error bound",
        RunStatistics::lrSafe));
    out.add(stat(runs, "ergowatch_lr_ratio", "Learning rate / lr_safe", RunStatistics::lrRatio));
    out.add(stat(runs, "ergowatch_sharpness_ratio", "Sharpness / its critical value for the optimizer",
        RunStatistics::sharpnessRatio));
    out.add(stat(runs, "ergowatch_oscillation_score",
        "Minus the median cosine between successive updates (1 for a period-2 orbit)", st -> -st.kappa()));
    out.add(stat(runs, "ergowatch_window_size", "Records in the current analysis window W", st -> st.window()));
    out.add(stat(runs, "ergowatch_loss_autocorrelation_time", "Integrated autocorrelation time of the loss (Geyer)",
        RunStatistics::tau));
    out.add(referenced(runs, "ergowatch_rsi", "Quantiles of the restricted secant inequality constant RSI",
        RunStatistics::rsi, RunStatistics.RSI_QUANTILES));
    out.add(referenced(runs, "ergowatch_error_bound", "Quantiles of the error-bound constant EB",
        RunStatistics::errorBound, RunStatistics.EB_QUANTILES));
    GaugeSnapshot.Builder gamma = GaugeSnapshot.builder().name("ergowatch_gradient_alignment")
        .help("Median cosine between the gradient and the direction away from the reference point");
    for (RunSnapshot r : runs) {
      double[] a = r.statistics().alignment();
      for (int i = 0; i < a.length; i++) {
        if (!Double.isNaN(a[i])) {
          gamma.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
              .labels(Labels.of("run", r.run(), "job", r.job(), "reference", RunStatistics.REFERENCES[i]))
              .value(a[i]).build());
        }
      }
    }
    out.add(gamma.build());
    GaugeSnapshot.Builder etaStar = GaugeSnapshot.builder().name("ergowatch_optimal_lr")
        .help("Median best step toward the reference point, <g, w - c> / |g|^2");
    for (RunSnapshot r : runs) {
      double[] e = r.statistics().optimalLr();
      for (int i = 0; i < e.length; i++) {
        if (!Double.isNaN(e[i])) {
          etaStar.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
              .labels(Labels.of("run", r.run(), "job", r.job(), "reference", RunStatistics.REFERENCES[i]))
              .value(e[i]).build());
        }
      }
    }
    out.add(etaStar.build());
    out.addAll(jobMetrics(JobAnalytics.all(runs)));
    return out;
  }

  /**
   * Series exported per name: the well-known ones. User series stay in the JSON API until the
   * configurable allow-list lands, keeping /metrics cardinality bounded.
   */
  static boolean exported(String name) {
    if (name.startsWith("proj.")) {
      return false; // 32 projections per run: JSON only, they matter as a set, not one by one
    }
    switch (name) {
      case "loss": case "lr": case "batch_size": case "local_batch_size": case "nonfinite": case "grad_sq":
      case "grad_local_sq": case "weight_sq": case "update_sq": case "update_dot_prev": case "grad_dot_update":
      case "ema_grad_dot": case "ema_dist_sq": case "ema_update_dot": case "ref_grad_dot": case "ref_dist_sq":
      case "ref_grad_sq": case "sharpness": case "agent_dropped": case "update_steps":
        return true;
      default:
        return false;
    }
  }

  /** Per-job metrics: seeds' split-R̂, the sweep's asymptotic gradient signal and critical lr. */
  static List<MetricSnapshot> jobMetrics(List<JobSnapshot> jobs) {
    GaugeSnapshot.Builder rhat = GaugeSnapshot.builder().name("ergowatch_job_rhat")
        .help("Split R-hat of the tail loss across the runs of a job at one learning rate (< 1.01: they agree)");
    GaugeSnapshot.Builder signal = GaugeSnapshot.builder().name("ergowatch_job_asymptotic_gradient_signal")
        .help("Mean window gradient signal of the job's runs at one learning rate");
    GaugeSnapshot.Builder critical = GaugeSnapshot.builder().name("ergowatch_job_critical_lr")
        .help("Estimated critical step size of a learning-rate sweep (geometric mean of its bracket)");
    for (JobSnapshot j : jobs) {
      for (JobSnapshot.SeedGroup g : j.seedGroups()) {
        if (Double.isFinite(g.rhat())) {
          rhat.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
              .labels(Labels.of("job", j.job(), "lr", Double.toString(g.lr()))).value(g.rhat()).build());
        }
      }
      if (j.sweep().size() >= 2) {
        for (JobSnapshot.SweepPoint p : j.sweep()) {
          if (Double.isFinite(p.gradientSignal())) {
            signal.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                .labels(Labels.of("job", j.job(), "lr", Double.toString(p.lr()))).value(p.gradientSignal()).build());
          }
        }
      }
      if (Double.isFinite(j.criticalLr())) {
        critical.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
            .labels(Labels.of("job", j.job())).value(j.criticalLr()).build());
      }
    }
    return List.of(rhat.build(), signal.build(), critical.build());
  }

  private static GaugeSnapshot seriesGauge(List<RunSnapshot> runs, String name, String help,
      ToDoubleFunction<SeriesSnapshot> f) {
    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
    for (RunSnapshot r : runs) {
      for (SeriesSnapshot s : r.series()) {
        double v = f.applyAsDouble(s);
        if (exported(s.name()) && !Double.isNaN(v)) {
          b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
              .labels(Labels.of("run", r.run(), "job", r.job(), "series", s.name())).value(v).build());
        }
      }
    }
    return b.build();
  }

  /** A run-level statistic; omitted for runs where it is not computed (NaN). */
  private static GaugeSnapshot stat(List<RunSnapshot> runs, String name, String help, ToDoubleFunction<RunStatistics> f) {
    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
    for (RunSnapshot r : runs) {
      double v = f.applyAsDouble(r.statistics());
      if (!Double.isNaN(v)) {
        b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
            .labels(Labels.of("run", r.run(), "job", r.job())).value(v).build());
      }
    }
    return b.build();
  }

  private static GaugeSnapshot referenced(List<RunSnapshot> runs, String name, String help,
      java.util.function.Function<RunStatistics, double[][]> f, double[] levels) {
    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
    for (RunSnapshot r : runs) {
      double[][] v = f.apply(r.statistics());
      for (int ref = 0; ref < v.length; ref++) {
        for (int q = 0; q < v[ref].length; q++) {
          if (!Double.isNaN(v[ref][q])) {
            b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                .labels(Labels.of("run", r.run(), "job", r.job(), "reference", RunStatistics.REFERENCES[ref],
                    "q", Double.toString(levels[q])))
                .value(v[ref][q]).build());
          }
        }
      }
    }
    return b.build();
  }

  private static GaugeSnapshot gauge(List<RunSnapshot> runs, String name, String help, ToDoubleFunction<RunSnapshot> f) {
    GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
    for (RunSnapshot r : runs) {
      b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
          .labels(Labels.of("run", r.run(), "job", r.job())).value(f.applyAsDouble(r)).build());
    }
    return b.build();
  }

  static HistogramSnapshot lagHistogram(Pipeline.LagSnapshot lag) {
    double[] bounds = new double[LagHistogram.BOUNDS.length + 1];
    System.arraycopy(LagHistogram.BOUNDS, 0, bounds, 0, LagHistogram.BOUNDS.length);
    bounds[bounds.length - 1] = Double.POSITIVE_INFINITY;
    return HistogramSnapshot.builder().name("ergowatch_pipeline_lag_seconds")
        .help("Lag from the agent's record time to analytics done")
        .dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
            .classicHistogramBuckets(ClassicHistogramBuckets.of(bounds, lag.counts()))
            .sum(lag.sumSeconds()).build())
        .build();
  }
}
