package io.ergowatch.monitor.ingest;

import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.FrameType;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The listener's own metrics (frames by type, refusals by reason, open connections), registered
 * by the ingest layer itself so that it needs nothing from the export layer. The per-frame
 * counters are resolved to data points once, so counting a frame is one LongAdder increment.
 */
public final class IngestMetrics {
  private final CounterDataPoint[] framesByType = new CounterDataPoint[FrameType.values().length];
  private final CounterDataPoint[] rejectsByReason = new CounterDataPoint[ErrorCode.values().length];
  private final Gauge connections;

  public IngestMetrics(PrometheusRegistry registry) {
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
  }

  void frame(FrameType type) {
    framesByType[type.ordinal()].inc();
  }

  void rejected(ErrorCode reason) {
    rejectsByReason[reason.ordinal()].inc();
  }

  void connectionOpened() {
    connections.inc();
  }

  void connectionClosed() {
    connections.dec();
  }
}
