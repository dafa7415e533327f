package io.ergowatch.monitor.pipeline;

import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.store.LogEntry;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Step;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Feeds one run's log entries, in order, through the pipeline's own code, as they were applied
 * live: a HELLO registers its connection (the mapping of its STEP ids to series), a STEP is
 * applied (dedup, rank assembly, analytics), a BYE ends its rank. The same records through the
 * same code give the same analytics: the monitor's start uses it, and so does an offline replay.
 * Runs on the run's lane.
 */
final class LogReplay implements Consumer<LogEntry> {
  private final Lane lane;
  private final Pipeline pipeline;
  private final String run;
  private final Map<Long, Map<Integer, Registration>> registrations = new HashMap<>();
  private final RunCore.EvaluationListener evaluations;
  /** The run, once its first HELLO was read; null while none was. */
  RunEntry entry;
  long steps;
  /** STEPs of connections whose HELLO was lost to damage: their series cannot be named. */
  long unmapped;

  LogReplay(Lane lane, Pipeline pipeline, String run) {
    this(lane, pipeline, run, null);
  }

  /** @param evaluations told every window evaluation of the replayed run; null for none */
  LogReplay(Lane lane, Pipeline pipeline, String run, RunCore.EvaluationListener evaluations) {
    this.lane = lane;
    this.pipeline = pipeline;
    this.run = run;
    this.evaluations = evaluations;
  }

  @Override
  public void accept(LogEntry e) {
    Object f = e.frame();
    if (f instanceof Hello h) {
      if (entry == null) {
        entry = lane.newEntry(run, h.job(), Pipeline.labels(h));
        entry.core.onEvaluation(evaluations);
      }
      registrations.computeIfAbsent(e.session(), x -> new HashMap<>())
          .put(e.rank(), pipeline.register(lane, entry, h, null, false));
      return;
    }
    if (entry == null) {
      return;
    }
    Registration r = registrations.getOrDefault(e.session(), Map.of()).get(e.rank());
    if (r == null) {
      if (f instanceof Step) {
        unmapped++;
      }
      return;
    }
    if (f instanceof Step s) {
      lane.replayed(r, entry, s);
      steps++;
    } else if (f instanceof Bye b) {
      pipeline.applyBye(r, b);
    }
  }
}
