package io.ergowatch.monitor.export;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.analytics.RunState;
import io.ergowatch.monitor.analytics.RunStatistics;
import java.nio.charset.StandardCharsets;

/**
 * A self-contained HTML report of runs (the run page, static/run.html, with the runs' whole
 * course embedded as JSON): loss on a log axis over the states, the learning rate, ‖g‖² with the
 * gradient signal, Π with its confidence band, the forecast, the events and the labels. No
 * request, script, style or font from anywhere else, so the file can be attached to a ticket.
 */
public final class RunReport {
  /** Points per curve at most: a 30 000-step run's report stays well under 2 MB. */
  static final int MAX_POINTS = 2000;

  private final ObjectMapper mapper = new ObjectMapper();
  private final RunJson json = new RunJson(mapper);
  private final ArrayNode runs = mapper.createArrayNode();

  /**
   * One run's course, collected during its replay: its records (loss, lr, grad_sq of rank 0,
   * told by the caller, which reads the log) and every window evaluation's statistics (told by
   * the run's core).
   */
  public static final class Course implements RunCore.EvaluationListener {
    private final Samples loss = new Samples();
    private final Samples lr = new Samples();
    private final Samples gradSq = new Samples();
    private final Samples pi = new Samples();
    private final Samples piSe = new Samples();
    private final Samples signal = new Samples();
    private final Samples signalSe = new Samples();
    private final Samples forecast = new Samples();
    private final Samples forecastSe = new Samples();
    private final java.util.ArrayList<String> states = new java.util.ArrayList<>();

    /** A record of the run; NaN for a series it does not carry. */
    public void record(long step, double lossValue, double lrValue, double gradSqValue) {
      loss.add(step, lossValue);
      lr.add(step, lrValue);
      gradSq.add(step, gradSqValue);
    }

    @Override
    public void evaluated(long step, long record, RunState state, RunStatistics st) {
      pi.add(step, st.stationarityRatio());
      piSe.add(step, st.stationarityRatioStderr());
      signal.add(step, st.gradientSignal());
      signalSe.add(step, st.gradientSignalStderr());
      forecast.add(step, st.forecastLossIfAnnealed());
      forecastSe.add(step, st.forecastStderr());
      states.add(state.label());
    }
  }

  /** (step, value) pairs in arrival order, thinned to {@link #MAX_POINTS} when written. */
  private static final class Samples {
    private long[] steps = new long[1024];
    private double[] values = new double[1024];
    private int n;

    void add(long step, double v) {
      if (n == steps.length) {
        steps = java.util.Arrays.copyOf(steps, 2 * n);
        values = java.util.Arrays.copyOf(values, 2 * n);
      }
      steps[n] = step;
      values[n++] = v;
    }

    /** The indices kept: every k-th (k so that at most MAX_POINTS remain), the last, and every non-finite one. */
    int[] kept() {
      int k = Math.max(1, (n + MAX_POINTS - 1) / MAX_POINTS);
      return java.util.stream.IntStream.range(0, n).filter(i -> i % k == 0 || i == n - 1 || !Double.isFinite(values[i]))
          .toArray();
    }
  }

  /** Adds a run: its snapshot after the replay, and the course collected during it. */
  public RunReport add(RunSnapshot snapshot, Course course) {
    ObjectNode r = json.detail(snapshot);
    ObjectNode c = r.putObject("course");
    int[] keep = course.loss.kept();
    put(c.putArray("steps"), course.loss, keep, true);
    put(c.putArray("loss"), course.loss, keep, false);
    put(c.putArray("lr"), course.lr, keep, false);
    put(c.putArray("grad_sq"), course.gradSq, keep, false);
    ObjectNode ev = r.putObject("evaluations");
    int[] evKeep = course.pi.kept();
    put(ev.putArray("steps"), course.pi, evKeep, true);
    ArrayNode states = ev.putArray("state");
    for (int i : evKeep) {
      states.add(course.states.get(i));
    }
    put(ev.putArray("pi"), course.pi, evKeep, false);
    put(ev.putArray("pi_se"), course.piSe, evKeep, false);
    put(ev.putArray("signal"), course.signal, evKeep, false);
    put(ev.putArray("signal_se"), course.signalSe, evKeep, false);
    put(ev.putArray("forecast"), course.forecast, evKeep, false);
    put(ev.putArray("forecast_se"), course.forecastSe, evKeep, false);
    runs.add(r);
    return this;
  }

  private static void put(ArrayNode out, Samples s, int[] keep, boolean steps) {
    for (int i : keep) {
      if (steps) {
        out.add(s.steps[i]);
      } else if (Double.isFinite(s.values[i])) {
        out.add(s.values[i]);
      } else {
        out.addNull();
      }
    }
  }

  /** The report: the run page with the runs embedded. */
  public String html(String generated) {
    ObjectNode data = mapper.createObjectNode();
    data.put("generated", generated);
    data.set("runs", runs);
    String payload;
    try {
      payload = mapper.writeValueAsString(data);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    String page = new String(HttpApi.resource("/static/run.html"), StandardCharsets.UTF_8);
    // "</" inside a script ends it: JSON allows "<\/" for "</".
    return page.replace("<!--ERGOWATCH-DATA-->",
        "<script id=\"ergowatch-data\" type=\"application/json\">" + payload.replace("</", "<\\/") + "</script>");
  }

  /** Runs in the report so far. */
  public int size() {
    return runs.size();
  }
}
