package io.ergowatch.monitor.ingest;

import io.ergowatch.monitor.pipeline.PipelineSettings;

/**
 * Bounds that keep one client from exhausting the monitor. Exceeding one is answered with an
 * ERROR (OVERLOADED for load, LIMIT_EXCEEDED for size) and counted in
 * {@code ergowatch_frames_rejected_total{reason}}.
 *
 * @param maxConnections open EWP/1 connections (OVERLOADED beyond)
 * @param maxRuns runs the monitor holds (LIMIT_EXCEEDED for a HELLO of a new run beyond)
 * @param maxSeriesPerRun distinct series names of one run (LIMIT_EXCEEDED)
 * @param maxLabels labels per HELLO (LIMIT_EXCEEDED)
 * @param maxRecordsPerSecond STEPs one connection may send per second; 0 = unlimited (OVERLOADED)
 */
public record Limits(int maxConnections, int maxRuns, int maxSeriesPerRun, int maxLabels, int maxRecordsPerSecond) {
  /** 1024 connections, 64 labels, no rate limit; the run and series bounds the pipeline enforces. */
  public static Limits defaults() {
    PipelineSettings p = PipelineSettings.defaults();
    return new Limits(1024, p.maxRuns(), p.maxSeriesPerRun(), 64, 0);
  }
}
