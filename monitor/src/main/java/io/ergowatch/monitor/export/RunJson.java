package io.ergowatch.monitor.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ergowatch.monitor.analytics.Evidence;
import io.ergowatch.monitor.analytics.JobSnapshot;
import io.ergowatch.monitor.analytics.RunEvent;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.analytics.RunStatistics;
import io.ergowatch.monitor.analytics.SeriesSnapshot;
import java.util.List;
import java.util.Map;

/**
 * The JSON shapes of /api/runs, /api/runs/{run} and /api/jobs. Every body is strict JSON (RFC
 * 8259): a number that is not finite is written as {@code null}, because JSON has no literal for
 * NaN or infinity and strings in a numeric field break every typed client. A {@code null} number
 * means "no finite value": the value sent was NaN or infinite, or the statistic is not computed
 * (yet) for this run. Which of the two is told elsewhere, never by the number: a series'
 * {@code nonfinite} count, the verdict (a non-finite loss is DIVERGED, and {@code why} says which
 * value at which step), and the statistic's own test outcome.
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
    n.put("store_corrupt_records", r.storeCorruptRecords());
    n.put("store_corrupt_bytes", r.storeCorruptBytes());
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
      number(sn, "ergodic_stderr", s.ergodicStderr());
      sn.put("ergodic_count", s.ergodicCount());
      number(sn, "ewma", s.ewma());
      if (s.windowSamples() > 0) {
        ObjectNode wn = sn.putObject("window");
        wn.put("samples", s.windowSamples());
        number(wn, "mean", s.windowMean());
        number(wn, "sd", s.windowSd());
        ObjectNode qn = wn.putObject("quantiles");
        double[] q = s.windowQuantiles();
        for (int i = 0; i < q.length; i++) {
          number(qn, Double.toString(SeriesSnapshot.QUANTILES[i]), q[i]);
        }
        number(wn, "drift", s.drift());
        number(wn, "ess", s.ess());
        number(wn, "geweke_z", s.gewekeZ());
        number(wn, "trend_t", s.trendT());
      }
      long[] hs = s.historySteps();
      if (hs.length > 0) {
        ObjectNode hn = sn.putObject("history");
        ArrayNode steps = hn.putArray("steps");
        ArrayNode values = hn.putArray("values");
        double[] hv = s.historyValues();
        for (int i = 0; i < hs.length; i++) {
          steps.add(hs[i]);
          if (Double.isFinite(hv[i])) {
            values.add(hv[i]);
          } else {
            values.addNull();
          }
        }
      }
    }
    n.set("statistics", statistics(r.statistics()));
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

  private ObjectNode statistics(RunStatistics st) {
    ObjectNode n = mapper.createObjectNode();
    n.put("evaluations", st.evaluations());
    n.put("evaluated_at_step", st.evaluatedAtStep());
    n.put("window", st.window());
    number(n, "loss_autocorrelation_time", st.tau());
    n.put("window_too_short", st.windowTooShort());
    n.put("loss_stationary", st.lossStationary());
    number(n, "loss_ess", st.lossEss());
    number(n, "loss_geweke_z", st.geweke());
    number(n, "loss_trend_t", st.trendT());
    number(n, "loss_relative_progress", st.delta());
    number(n, "loss_relative_progress_stderr", st.deltaStderr());
    n.put("window_records", st.windowRecords());
    number(n, "loss_sign_change_fraction", st.falt());
    number(n, "stationarity_ratio", st.stationarityRatio());
    number(n, "stationarity_ratio_stderr", st.stationarityRatioStderr());
    n.put("stationarity_ratio_rows", st.stationarityRatioRows());
    number(n, "ema_alpha", st.emaAlpha());
    number(n, "update_cosine_median", st.kappa());
    number(n, "update_r2", st.r2());
    number(n, "gradient_signal", st.gradientSignal());
    number(n, "gradient_signal_stderr", st.gradientSignalStderr());
    n.put("gradient_signal_identified", st.signalIdentified());
    number(n, "gradient_noise_scale", st.noiseScale());
    number(n, "batch_noise", st.batchNoise());
    number(n, "update_energy", st.updateEnergy());
    number(n, "update_energy_peak", st.updateEnergyPeak());
    number(n, "weights_drift", st.weightsDrift());
    number(n, "weights_drift_null", st.weightsDriftNull());
    ObjectNode geo = n.putObject("geometry");
    double[][] rsi = st.rsi();
    double[][] eb = st.errorBound();
    double[] gamma = st.alignment();
    double[] etaStar = st.optimalLr();
    for (int ref = 0; ref < RunStatistics.REFERENCES.length; ref++) {
      ObjectNode g = geo.putObject(RunStatistics.REFERENCES[ref]);
      number(g, "rsi_q05", rsi[ref][0]);
      number(g, "rsi_q50", rsi[ref][1]);
      number(g, "eb_q50", eb[ref][0]);
      number(g, "eb_q95", eb[ref][1]);
      number(g, "alignment", gamma[ref]);
      number(g, "optimal_lr", etaStar[ref]);
    }
    number(n, "lr_safe", st.lrSafe());
    number(n, "lr_ratio", st.lrRatio());
    n.put("lr_safe_reference", st.geometryReference());
    number(n, "sharpness_ratio", st.sharpnessRatio());
    n.put("optimizer", st.optimizer());
    ObjectNode forecast = n.putObject("forecast");
    number(forecast, "loss_if_annealed", st.forecastLossIfAnnealed());
    number(forecast, "standard_error", st.forecastStderr());
    number(forecast, "excess", st.forecastExcess());
    ArrayNode tests = n.putArray("tests");
    for (Evidence e : st.tests()) {
      ObjectNode t = tests.addObject();
      t.put("test", e.test());
      number(t, "estimate", e.estimate());
      number(t, "stderr", e.stderr());
      number(t, "low", e.low());
      number(t, "high", e.high());
      t.put("outcome", e.outcome());
    }
    return n;
  }

  /** /api/jobs/{job}: seeds' R-hat, the sweep and the critical lr. */
  public ObjectNode job(JobSnapshot j) {
    ObjectNode n = mapper.createObjectNode();
    n.put("job", j.job());
    n.put("runs", j.runs());
    n.put("kind", j.kind());
    ArrayNode groups = n.putArray("seed_groups");
    for (JobSnapshot.SeedGroup g : j.seedGroups()) {
      ObjectNode gn = groups.addObject();
      number(gn, "lr", g.lr());
      ArrayNode rs = gn.putArray("runs");
      g.runs().forEach(rs::add);
      number(gn, "rhat", g.rhat());
      gn.put("tail_length", g.tailLength());
    }
    ArrayNode sweep = n.putArray("sweep");
    for (JobSnapshot.SweepPoint p : j.sweep()) {
      ObjectNode pn = sweep.addObject();
      number(pn, "lr", p.lr());
      number(pn, "gradient_signal", p.gradientSignal());
      pn.put("converged", p.converged());
      pn.put("runs", p.total());
      ArrayNode st = pn.putArray("states");
      p.states().forEach(st::add);
    }
    number(n, "critical_lr", j.criticalLr());
    number(n, "critical_lr_low", j.criticalLrLow());
    number(n, "critical_lr_high", j.criticalLrHigh());
    n.put("why", j.why());
    return n;
  }

  public ArrayNode jobs(List<JobSnapshot> jobs) {
    ArrayNode a = mapper.createArrayNode();
    jobs.forEach(j -> a.add(job(j)));
    return a;
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
      n.putNull(field);
    }
  }
}
