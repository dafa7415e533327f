package io.ergowatch.monitor.pipeline;

import io.ergowatch.monitor.analytics.AnalyticsSettings;
import java.time.Duration;

/**
 * Settings of the per-run pipeline.
 *
 * @param lanes single-threaded lanes runs are spread over (runs in parallel, each run in order)
 * @param prefetch STEPs a connection may have queued for its lane; a full queue stops reads
 * @param rankGrace how long a step waits for its missing ranks before it is processed as partial
 * @param maxPendingSteps steps a multi-rank run may hold waiting for ranks
 * @param silenceTimeout a live run with no data this long becomes silent
 * @param retention finished or silent runs leave /metrics after this long
 * @param tickInterval how often lanes advance time (partial steps, silence, retention)
 * @param maxRuns runs the pipeline holds; a HELLO for one more is LIMIT_EXCEEDED
 * @param maxSeriesPerRun distinct series names of one run
 */
public record PipelineSettings(
    int lanes,
    int prefetch,
    Duration rankGrace,
    int maxPendingSteps,
    Duration silenceTimeout,
    Duration retention,
    Duration tickInterval,
    AnalyticsSettings analytics,
    int maxRuns,
    int maxSeriesPerRun) {

  public static PipelineSettings defaults() {
    return new PipelineSettings(Math.max(2, Runtime.getRuntime().availableProcessors()), 256,
        Duration.ofSeconds(30), 4096, Duration.ofSeconds(120), Duration.ofHours(1),
        Duration.ofMillis(250), AnalyticsSettings.defaults(), 10_000, 4096);
  }

  public PipelineSettings withSilenceTimeout(Duration d) {
    return new PipelineSettings(lanes, prefetch, rankGrace, maxPendingSteps, d, retention, tickInterval, analytics, maxRuns, maxSeriesPerRun);
  }

  public PipelineSettings withRetention(Duration d) {
    return new PipelineSettings(lanes, prefetch, rankGrace, maxPendingSteps, silenceTimeout, d, tickInterval, analytics, maxRuns, maxSeriesPerRun);
  }

  public PipelineSettings withPrefetch(int p) {
    return new PipelineSettings(lanes, p, rankGrace, maxPendingSteps, silenceTimeout, retention, tickInterval, analytics, maxRuns, maxSeriesPerRun);
  }

  public PipelineSettings withLanes(int n) {
    return new PipelineSettings(n, prefetch, rankGrace, maxPendingSteps, silenceTimeout, retention, tickInterval, analytics, maxRuns, maxSeriesPerRun);
  }

  public PipelineSettings withRankGrace(Duration d) {
    return new PipelineSettings(lanes, prefetch, d, maxPendingSteps, silenceTimeout, retention, tickInterval, analytics, maxRuns, maxSeriesPerRun);
  }
}
