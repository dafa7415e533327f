package io.ergowatch.monitor.export;

import io.ergowatch.monitor.pipeline.Pipeline;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The pipeline's totals (runs exported, records applied, duplicates dropped) and the JVM's
 * metrics, read from their sources at scrape time, on an explicit registry (never the global
 * default one). The listener's own counters are {@code ingest.IngestMetrics}.
 */
public final class MonitorMetrics {
  private MonitorMetrics() {}

  public static void register(PrometheusRegistry registry, Pipeline pipeline, boolean jvm) {
    GaugeWithCallback.builder().name("ergowatch_runs").help("Runs currently exported on /metrics")
        .callback(cb -> cb.call(pipeline.visibleRuns())).register(registry);
    CounterWithCallback.builder().name("ergowatch_records_duplicate_total")
        .help("STEP records dropped as resends of records already recorded")
        .callback(cb -> cb.call(pipeline.duplicates())).register(registry);
    CounterWithCallback.builder().name("ergowatch_records_total")
        .help("STEP records applied to the analytics (after deduplication), over all runs")
        .callback(cb -> cb.call(pipeline.recordsApplied())).register(registry);
    if (jvm) {
      JvmMetrics.builder().register(registry);
    }
  }
}
