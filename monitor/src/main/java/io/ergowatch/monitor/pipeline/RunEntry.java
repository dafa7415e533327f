package io.ergowatch.monitor.pipeline;

import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.RunEvent;
import io.ergowatch.monitor.analytics.RunStatus;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** Everything the pipeline keeps for one run. Confined to the run's lane thread. */
final class RunEntry {
  /** The run's snapshot failed once and that was logged (Lane.snapshot). */
  boolean snapshotFailureLogged;

  final RunCore core;
  final RankAssembler assembler;
  /** (rank, session) → source. */
  final Map<Long, Map<Integer, Source>> sourcesBySession = new HashMap<>();
  /** rank → the connection that currently streams it. */
  final Map<Integer, Object> live = new HashMap<>();
  final Set<Integer> byeRanks = new HashSet<>();
  int world = 1;
  boolean hidden;
  RunEvent loggedEvent;
  /** The run's durable log; null when the pipeline runs without a store. */
  io.ergowatch.monitor.store.RunLog log;
  /** Appended since the last commit. */
  boolean uncommitted;
  RunStatus loggedStatus = RunStatus.LIVE;

  RunEntry(RunCore core, RankAssembler assembler) {
    this.core = core;
    this.assembler = assembler;
  }

  Source source(int rank, long session) {
    return sourcesBySession.computeIfAbsent(session, s -> new HashMap<>()).get(rank);
  }

  /** True when an earlier session of this rank recorded something: the new one is a restart. */
  boolean rankHasHistory(int rank) {
    for (Map<Integer, Source> bySession : sourcesBySession.values()) {
      Source s = bySession.get(rank);
      if (s != null && s.recordedSeq > 0) {
        return true;
      }
    }
    return false;
  }

  /** Everything recorded so far is now durable: ACKs may report it. */
  void markDurable() {
    durableMarks().run();
  }

  /** What is recorded now, to be marked durable once a force covering it completes. */
  Runnable durableMarks() {
    java.util.List<Source> sources = new java.util.ArrayList<>();
    java.util.List<Long> seqs = new java.util.ArrayList<>();
    for (Map<Integer, Source> bySession : sourcesBySession.values()) {
      for (Source s : bySession.values()) {
        sources.add(s);
        seqs.add(s.recordedSeq);
      }
    }
    return () -> {
      for (int i = 0; i < sources.size(); i++) {
        sources.get(i).advanceDurable(seqs.get(i));
      }
    };
  }

  void addSource(Source s) {
    sourcesBySession.computeIfAbsent(s.session, x -> new HashMap<>()).put(s.rank, s);
  }
}
