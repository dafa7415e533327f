package io.ergowatch.dl4j;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Keeps every record the listener sends, by series name. */
final class CapturingSink implements ErgowatchListener.Sink {
  record Sent(long step, Map<String, Double> values) {
    double get(String name) {
      Double v = values.get(name);
      if (v == null) {
        throw new AssertionError("step " + step + " has no " + name + ": " + values.keySet());
      }
      return v;
    }
  }

  final List<Sent> sent = new ArrayList<>();
  final List<String> names;
  boolean closed;

  CapturingSink(List<String> names) {
    this.names = names;
  }

  @Override
  public void record(long step, int[] ids, double[] values, int count) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      if (m.put(names.get(ids[i]), values[i]) != null) {
        throw new AssertionError("series " + names.get(ids[i]) + " twice in step " + step);
      }
    }
    sent.add(new Sent(step, m));
  }

  @Override
  public void close() {
    closed = true;
  }

  static ErgowatchListener listener(ErgowatchListener.Builder b, CapturingSink[] out) {
    StepRecord record = b.newRecord();
    out[0] = new CapturingSink(record.names());
    return b.build(out[0], record);
  }
}
