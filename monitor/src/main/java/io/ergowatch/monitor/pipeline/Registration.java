package io.ergowatch.monitor.pipeline;

import io.ergowatch.protocol.Hello;

/**
 * An accepted connection of one (run, rank, session): what its STEPs need on the lane. Made
 * by {@link Pipeline#open}; immutable apart from the source's progress.
 */
public final class Registration {
  final Hello hello;
  final Lane lane;
  final Source source;
  /** HELLO series id → run-level series index. */
  final int[] mapping;
  final long welcomeAckedSeq;
  final Object connection;
  /** The run's entry; touched only on the lane. */
  RunEntry entry;

  Registration(Hello hello, Lane lane, Source source, int[] mapping, long welcomeAckedSeq, Object connection) {
    this.hello = hello;
    this.lane = lane;
    this.source = source;
    this.mapping = mapping;
    this.welcomeAckedSeq = welcomeAckedSeq;
    this.connection = connection;
  }

  public Hello hello() {
    return hello;
  }

  /** acked_seq for the WELCOME: the highest seq of this session already recorded. */
  public long welcomeAckedSeq() {
    return welcomeAckedSeq;
  }

  /** The highest seq of this session recorded durably so far (cumulative ACK value). */
  public long ackedSeq() {
    return source.durableSeq;
  }
}
