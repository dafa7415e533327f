package io.ergowatch.monitor.store;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of the durable record log.
 *
 * @param dataDir root directory; each run's log lives in {@code runs/<run>/}
 * @param fsync when writes are forced to disk (and records acknowledged)
 * @param fsyncInterval the force period for {@link FsyncPolicy#INTERVAL}, and the longest a
 *     group commit waits for {@link FsyncPolicy#BATCH}
 * @param segmentBytes a segment rolls over past this size
 * @param retention a run whose log was last written longer ago is deleted
 * @param retentionBytes when all logs together exceed this, the least recently written runs are
 *     deleted first
 */
public record StoreSettings(
    Path dataDir, FsyncPolicy fsync, Duration fsyncInterval, long segmentBytes, Duration retention, long retentionBytes) {

  public static StoreSettings defaults(Path dataDir) {
    return new StoreSettings(dataDir, FsyncPolicy.BATCH, Duration.ofMillis(20), 64L << 20, Duration.ofDays(7), 10L << 30);
  }
}
