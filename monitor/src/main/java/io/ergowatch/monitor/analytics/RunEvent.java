package io.ergowatch.monitor.analytics;

import java.util.List;

/**
 * A change of a run's verdict, with the statistics that caused it: what a person paged at
 * night reads first.
 */
public record RunEvent(long step, RunState from, RunState to, List<String> why) {
  public RunEvent {
    why = List.copyOf(why);
  }
}
