package io.ergowatch.monitor.export;

import io.ergowatch.monitor.pipeline.Pipeline;
import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.FrameType;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The monitor's own metrics, on an explicit registry (never the global default one). The
 * per-frame counters are resolved to data points once, so counting a frame is one
 * LongAdder increment.
 */
public final class MonitorMetrics {
  private final PrometheusRegistry registry;
  private final CounterDataPoint[] framesByType = new CounterDataPoint[FrameType.values().length];
  private final CounterDataPoint[] rejectsByReason = new CounterDataPoint[ErrorCode.values().length];
  private final Gauge connections;

  public MonitorMetrics(PrometheusRegistry registry, Pipeline pipeline, boolean jvm) {
    this.registry = registry;
    Counter frames = Counter.builder().name("ergowatch_frames_total")
        .help("EWP/1 frames received, by type").labelNames("type").register(registry);
    for (FrameType t : FrameType.values()) {
      framesByType[t.ordinal()] = frames.labelValues(t.label());
    }
    Counter rejects = Counter.builder().name("ergowatch_frames_rejected_total")
        .help("Connections refused with an ERROR frame, by reason (the EWP/1 error code)")
        .labelNames("reason").register(registry);
    for (ErrorCode c : ErrorCode.values()) {
      rejectsByReason[c.ordinal()] = rejects.labelValues(c.label());
    }
    connections = Gauge.builder().name("ergowatch_connections")
        .help("Open agent connections").register(registry);
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

  public PrometheusRegistry registry() {
    return registry;
  }

  public void frame(FrameType type) {
    framesByType[type.ordinal()].inc();
  }

  public void rejected(ErrorCode reason) {
    rejectsByReason[reason.ordinal()].inc();
  }

  public void connectionOpened() {
    connections.inc();
  }

  public void connectionClosed() {
    connections.dec();
  }
}
