package io.ergowatch.monitor.analytics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * The verdict's calibration suite (docs/math.md §5, "Calibration targets of the verdict"): feeds
 * synthetic streams of known behaviour through a {@link RunCore} over many seeds and measures
 * the false-change rate per 10⁵ steps, the detection delay in windows and the share of
 * post-mixing steps in the right state. Run by {@code VerdictCalibrationTest}, which prints the
 * table recorded in docs/math.md §7 and asserts the targets.
 */
final class Calibration {
  private Calibration() {}

  /** One stream of a family: how to build its records, and its labels. */
  interface Stream {
    /** Writes record t's values (NaN = absent) in the order of {@link #series()}. */
    void step(long t, double[] out);

    List<String> series();

    Map<String, String> labels();
  }

  /** The states a core was in after every record, and its last snapshot. */
  record Trace(byte[] states, RunSnapshot last, List<Long> windows) {
    RunState at(long t) {
      return RunState.values()[states[(int) t]];
    }

    /** State changes after record {@code from}. */
    int changes(long from) {
      int n = 0;
      for (int t = (int) Math.max(1, from + 1); t < states.length; t++) {
        n += states[t] != states[t - 1] ? 1 : 0;
      }
      return n;
    }

    /** The first record ≥ from in state s, or -1. */
    long first(RunState s, long from) {
      for (int t = (int) from; t < states.length; t++) {
        if (states[t] == s.ordinal()) {
          return t;
        }
      }
      return -1;
    }

    /** Share of records in [from, end) in state s. */
    double share(RunState s, long from) {
      long n = 0;
      for (int t = (int) from; t < states.length; t++) {
        n += states[t] == s.ordinal() ? 1 : 0;
      }
      return (double) n / Math.max(1, states.length - from);
    }

    boolean ever(RunState s, long from) {
      return first(s, from) >= 0;
    }

    /** The window W (records) at record t, from the evaluations seen. */
    long windowAt(long t) {
      int i = (int) Math.min(windows.size() - 1, t / 100);
      return i < 0 ? 200 : windows.get(i);
    }
  }

  static Trace run(Stream s, long steps) {
    return run(s, steps, (c, t) -> { });
  }

  /** Runs {@code steps} records of {@code s}; {@code observer} sees the core after each record. */
  static Trace run(Stream s, long steps, java.util.function.ObjLongConsumer<RunCore> observer) {
    RunCore core = new RunCore("cal", "", s.labels(), AnalyticsSettings.defaults());
    List<String> names = s.series();
    int[] idx = new int[names.size()];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = core.seriesIndex(names.get(i));
    }
    double[] v = new double[idx.length];
    StepRecord r = new StepRecord(idx.length);
    byte[] states = new byte[(int) steps];
    List<Long> windows = new ArrayList<>();
    for (long t = 0; t < steps; t++) {
      Arrays.fill(v, Double.NaN);
      s.step(t, v);
      r.reset(t, t);
      for (int i = 0; i < idx.length; i++) {
        if (!Double.isNaN(v[i])) {
          r.put(idx[i], v[i]);
        }
      }
      core.onRecord(r, t);
      observer.accept(core, t);
      states[(int) t] = (byte) core.state().ordinal();
      if (t % 100 == 0) {
        windows.add((long) core.windowForTests());
      }
    }
    return new Trace(states, core.snapshot(), windows);
  }

  static Stream trainer(SyntheticTrainer tr, Map<String, String> labels) {
    Map<String, String> all = new HashMap<>(labels);
    all.put("ema_alpha", Double.toString(tr.alpha));
    return new Stream() {
      @Override
      public void step(long t, double[] out) {
        tr.step(out);
      }

      @Override
      public List<String> series() {
        return SyntheticTrainer.SERIES;
      }

      @Override
      public Map<String, String> labels() {
        return all;
      }
    };
  }

  /**
   * A recorded stream: "# k=v ..." labels, a header "step,name,...", then one row per step
   * (an empty cell: the series is absent).
   */
  static Stream csv(java.nio.file.Path file) throws java.io.IOException {
    List<String> lines = java.nio.file.Files.readAllLines(file);
    Map<String, String> labels = new HashMap<>();
    for (String kv : lines.get(0).substring(1).trim().split(" ")) {
      int eq = kv.indexOf('=');
      if (eq > 0) {
        labels.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
    }
    String[] header = lines.get(1).split(",");
    List<String> names = List.of(Arrays.copyOfRange(header, 1, header.length));
    double[][] rows = new double[lines.size() - 2][names.size()];
    for (int i = 2; i < lines.size(); i++) {
      String[] cells = lines.get(i).split(",", -1);
      for (int j = 1; j < header.length; j++) {
        rows[i - 2][j - 1] = cells[j].isEmpty() ? Double.NaN : Double.parseDouble(cells[j]);
      }
    }
    return new Stream() {
      @Override
      public void step(long t, double[] out) {
        System.arraycopy(rows[(int) t], 0, out, 0, out.length);
      }

      @Override
      public List<String> series() {
        return names;
      }

      @Override
      public Map<String, String> labels() {
        return labels;
      }
    };
  }

  /** {@code base} with {@code after} applied to each record's values (a spike, a measurement). */
  static Stream then(Stream base, java.util.function.ObjLongConsumer<double[]> after) {
    return new Stream() {
      @Override
      public void step(long t, double[] out) {
        base.step(t, out);
        after.accept(out, t);
      }

      @Override
      public List<String> series() {
        return base.series();
      }

      @Override
      public Map<String, String> labels() {
        return base.labels();
      }
    };
  }

  /** A loss-only stream from a function of (t, gaussian draw). */
  static Stream lossOnly(LongFunction<Double> loss) {
    return new Stream() {
      @Override
      public void step(long t, double[] out) {
        out[0] = loss.apply(t);
      }

      @Override
      public List<String> series() {
        return List.of("loss");
      }

      @Override
      public Map<String, String> labels() {
        return Map.of();
      }
    };
  }
}
