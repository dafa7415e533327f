package io.ergowatch.monitor.pipeline;

/**
 * One (run, rank, session): the unit of seq numbering and deduplication. Written only on the
 * run's lane; {@code recordedSeq} is read by the connection for ACKs.
 */
final class Source {
  final int rank;
  final long session;
  volatile long recordedSeq;
  /** The highest seq written durably per the fsync policy: what ACK and WELCOME report. */
  volatile long durableSeq;
  /**
   * Raises durableSeq to seq (never lowers it): the lane marks at a BYE and without fsync, the
   * lane's fsync thread after a group commit's force, in either order.
   */
  synchronized void advanceDurable(long seq) {
    if (seq > durableSeq) {
      durableSeq = seq;
    }
  }

  /** True until the first record of a session that follows an earlier one of the same rank. */
  boolean rewindPending;

  Source(int rank, long session, boolean rewindPending) {
    this.rank = rank;
    this.session = session;
    this.rewindPending = rewindPending;
  }
}
