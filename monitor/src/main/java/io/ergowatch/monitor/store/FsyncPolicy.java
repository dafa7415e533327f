package io.ergowatch.monitor.store;

import java.util.Locale;

/**
 * When the record log forces its writes to disk, and so when an ACK may be sent.
 * <ul>
 *   <li>{@link #BATCH} (default): group commit — a lane forces its dirty logs every few
 *       milliseconds, and a record is acknowledged only once forced. Nothing acknowledged is lost
 *       on power failure.
 *   <li>{@link #INTERVAL}: forced every {@code fsync-interval}; records are acknowledged once
 *       written to the OS (they survive a process crash, not a power failure inside the interval).
 *   <li>{@link #NONE}: never forced; acknowledged once written to the OS.
 * </ul>
 */
public enum FsyncPolicy {
  BATCH, INTERVAL, NONE;

  public static FsyncPolicy parse(String s) {
    return valueOf(s.trim().toUpperCase(Locale.ROOT));
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
