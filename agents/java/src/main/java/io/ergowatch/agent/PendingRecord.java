package io.ergowatch.agent;

/**
 * A record on its way from the buffer to the wire: a mutable holder the network thread reuses
 * for every record, so moving a record allocates nothing. Network thread only.
 *
 * <p>{@code ids} and {@code values} have room for every series of the HELLO, {@code
 * agent_dropped} included; entries {@code [0, count)} are valid.
 */
final class PendingRecord {
  /** The buffer position (call order of {@code record()}). */
  long position;
  long step;
  long timeNanos;
  int count;
  final int[] ids;
  final double[] values;

  PendingRecord(int maxValues) {
    ids = new int[maxValues];
    values = new double[maxValues];
  }
}
