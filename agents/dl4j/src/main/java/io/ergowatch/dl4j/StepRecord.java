package io.ergowatch.dl4j;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The values of one step, as (series id, value) pairs over a fixed list of series names: what
 * {@code ErgowatchAgent.record(step, ids, values, count)} takes. Reused from step to step; no
 * allocation after construction.
 */
final class StepRecord {
  private final List<String> names;
  private final Map<String, Integer> index = new HashMap<>();
  private final int[] ids;
  private final double[] values;
  private final int[] slotOf;
  private int count;

  StepRecord(List<String> names) {
    this.names = List.copyOf(names);
    for (int i = 0; i < this.names.size(); i++) {
      if (index.put(this.names.get(i), i) != null) {
        throw new IllegalArgumentException("series " + this.names.get(i) + " declared twice");
      }
    }
    ids = new int[this.names.size()];
    values = new double[this.names.size()];
    slotOf = new int[this.names.size()];
    Arrays.fill(slotOf, -1);
  }

  List<String> names() {
    return names;
  }

  /** The id of a series, or -1 if it is not declared. */
  int id(String name) {
    Integer id = index.get(name);
    return id == null ? -1 : id;
  }

  /** Sets a value; ids below 0 are ignored (series not declared at this level). Last write wins. */
  void put(int id, double value) {
    if (id < 0) {
      return;
    }
    int slot = slotOf[id];
    if (slot < 0) {
      slot = count++;
      slotOf[id] = slot;
      ids[slot] = id;
    }
    values[slot] = value;
  }

  /** The value of a series in this record, or NaN if absent (tests). */
  double get(String name) {
    int id = id(name);
    return id < 0 || slotOf[id] < 0 ? Double.NaN : values[slotOf[id]];
  }

  boolean has(String name) {
    int id = id(name);
    return id >= 0 && slotOf[id] >= 0;
  }

  int[] ids() {
    return ids;
  }

  double[] values() {
    return values;
  }

  int count() {
    return count;
  }

  void clear() {
    for (int i = 0; i < count; i++) {
      slotOf[ids[i]] = -1;
    }
    count = 0;
  }
}
