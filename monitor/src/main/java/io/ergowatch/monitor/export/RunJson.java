package io.ergowatch.monitor.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ergowatch.monitor.analytics.RunEvent;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.analytics.SeriesSnapshot;
import java.util.List;
import java.util.Map;

/**
 * The JSON shapes of /api/runs and /api/runs/{run}. Non-finite numbers are written as the
 * strings "NaN", "Infinity" and "-Infinity" (JSON has no literal for them; replacing them with
 * 0 or null would hide exactly what a monitor must show).
 */
public final class RunJson {
  private final ObjectMapper mapper;

  public RunJson(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  /** A run summary, one element of /api/runs. */
  public ObjectNode summary(RunSnapshot r) {
    ObjectNode n = mapper.createObjectNode();
    n.put("run", r.run());
    n.put("job", r.job());
    n.put("state", r.state().label());
    n.put("status", r.status().label());
    n.put("steps", r.steps());
    n.put("last_step", r.lastStep());
    number(n, "loss", r.loss());
    number(n, "grad_norm", r.gradNorm());
    number(n, "learning_rate", r.learningRate());
    ArrayNode why = n.putArray("why");
    r.why().forEach(why::add);
    return n;
  }

  /** The full object of /api/runs/{run}. */
  public ObjectNode detail(RunSnapshot r) {
    ObjectNode n = summary(r);
    n.put("state_since_step", r.stateSinceStep());
    n.put("world", r.world());
    n.put("mode", r.mode());
    n.put("last_record_time_ns", r.lastRecordTimeNanos());
    n.put("burn_in_step", r.burnInStep());
    n.put("rewinds", r.rewinds());
    n.put("partial_steps", r.partialSteps());
    if (!r.endStatus().isEmpty()) {
      n.put("end_status", r.endStatus());
      n.put("end_message", r.endMessage());
    }
    ObjectNode labels = n.putObject("labels");
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(r.labels()).entrySet()) {
      labels.put(e.getKey(), e.getValue());
    }
    ObjectNode series = n.putObject("series");
    for (SeriesSnapshot s : r.series()) {
      ObjectNode sn = series.putObject(s.name());
      number(sn, "last", s.last());
      sn.put("last_step", s.lastStep());
      sn.put("count", s.count());
      sn.put("nonfinite", s.nonfinite());
      number(sn, "ergodic_mean", s.ergodicMean());
      sn.put("ergodic_count", s.ergodicCount());
    }
    ArrayNode events = n.putArray("events");
    for (RunEvent ev : r.events()) {
      ObjectNode en = events.addObject();
      en.put("step", ev.step());
      en.put("from", ev.from().label());
      en.put("to", ev.to().label());
      ArrayNode w = en.putArray("why");
      ev.why().forEach(w::add);
    }
    return n;
  }

  public ArrayNode list(List<RunSnapshot> runs) {
    ArrayNode a = mapper.createArrayNode();
    runs.forEach(r -> a.add(summary(r)));
    return a;
  }

  static void number(ObjectNode n, String field, double v) {
    if (Double.isFinite(v)) {
      n.put(field, v);
    } else {
      n.put(field, Double.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }
  }
}
