package io.ergowatch.monitor.analytics;

/**
 * Where a run is in its life, from the times it is told (never a clock of its own): live while
 * records arrive, silent after a silence timeout, finished after the last rank's BYE, and
 * expired once silent or finished for longer than a retention.
 */
final class RunLifecycle {
  private RunStatus status = RunStatus.LIVE;
  private long lastReceivedNanos;
  private String endStatus = "";
  private String endMessage = "";

  /** A (re)connection: the run is live again, even after a BYE. */
  void hello(long receivedNanos) {
    status = RunStatus.LIVE;
    lastReceivedNanos = Math.max(lastReceivedNanos, receivedNanos);
  }

  /** A record: live unless finished (a record after BYE does not reopen the run). */
  void record(long receivedNanos) {
    lastReceivedNanos = receivedNanos;
    if (status != RunStatus.FINISHED) {
      status = RunStatus.LIVE;
    }
  }

  void finished(String endStatus, String message, long receivedNanos) {
    this.status = RunStatus.FINISHED;
    this.endStatus = endStatus;
    this.endMessage = message;
    this.lastReceivedNanos = Math.max(lastReceivedNanos, receivedNanos);
  }

  /** A live run with no data for {@code silenceTimeoutNanos} becomes silent. */
  void tick(long nowNanos, long silenceTimeoutNanos) {
    if (status == RunStatus.LIVE && nowNanos - lastReceivedNanos > silenceTimeoutNanos) {
      status = RunStatus.SILENT;
    }
  }

  boolean expired(long nowNanos, long retentionNanos) {
    return status != RunStatus.LIVE && nowNanos - lastReceivedNanos > retentionNanos;
  }

  RunStatus status() {
    return status;
  }

  String endStatus() {
    return endStatus;
  }

  String endMessage() {
    return endMessage;
  }
}
