package io.ergowatch.monitor.analytics;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** A run's latest events (state changes and loss spikes), oldest first, at most {@value #MAX_EVENTS}. */
final class EventLog {
  static final int MAX_EVENTS = 100;

  private final ArrayDeque<RunEvent> events = new ArrayDeque<>();

  void add(RunEvent e) {
    events.addLast(e);
    if (events.size() > MAX_EVENTS) {
      events.removeFirst();
    }
  }

  /** The latest event; null before the first. */
  RunEvent last() {
    return events.peekLast();
  }

  /** The latest event that changed the state (not a spike); null before the first. */
  RunEvent lastStateChange() {
    Iterator<RunEvent> it = events.descendingIterator();
    while (it.hasNext()) {
      RunEvent e = it.next();
      if (e.from() != e.to()) {
        return e;
      }
    }
    return null;
  }

  /** A copy, oldest first. */
  List<RunEvent> list() {
    return new ArrayList<>(events);
  }
}
