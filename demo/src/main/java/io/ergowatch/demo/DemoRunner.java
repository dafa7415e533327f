package io.ergowatch.demo;

import io.ergowatch.agent.ErgowatchAgent;
import io.ergowatch.protocol.Bye;
import io.ergowatch.sim.GradientDescent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Drives the demo's trainers through real {@link ErgowatchAgent}s at a steady pace, the way a
 * training loop would: one record() per iteration, never waiting for the monitor.
 */
public final class DemoRunner implements AutoCloseable {
  private final ScheduledExecutorService clock;
  private final List<ErgowatchAgent> agents = new ArrayList<>();
  private final List<DemoRun> runs;

  /** Every simulated run of {@link DemoTrainers#all()}. */
  public DemoRunner(String address, int stepsPerSecond) {
    this(address, stepsPerSecond, DemoTrainers.all());
  }

  /**
   * @param stepsPerSecond iterations per second for each run
   * @param runs the simulated runs to drive
   */
  public DemoRunner(String address, int stepsPerSecond, List<DemoRun> runs) {
    this.runs = runs;
    this.clock = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "ergowatch-demo-trainers");
      t.setDaemon(true);
      return t;
    });
    int perTick = Math.max(1, stepsPerSecond / 50);
    for (DemoRun run : runs) {
      ErgowatchAgent.Builder b = ErgowatchAgent.builder().address(address).run(run.run()).job(run.job())
          .series(GradientDescent.SERIES);
      for (Map.Entry<String, String> l : run.labels().entrySet()) {
        b.label(l.getKey(), l.getValue());
      }
      if (run.trainer().emaAlpha() > 0) {
        b.label("ema_alpha", Double.toString(run.trainer().emaAlpha()));
      }
      ErgowatchAgent agent = b.build();
      agents.add(agent);
      double[] values = new double[GradientDescent.SERIES.size()];
      boolean[] applies = new boolean[values.length];
      int[] ids = new int[values.length];
      double[] present = new double[values.length];
      long[] step = {0};
      clock.scheduleAtFixedRate(() -> {
        for (int i = 0; i < perTick; i++) {
          run.trainer().step(values, applies);
          int n = 0;
          for (int s = 0; s < values.length; s++) {
            if (applies[s]) {
              ids[n] = s;
              present[n++] = values[s];
            }
          }
          agent.record(step[0]++, ids, present, n);
        }
      }, 0, 20, TimeUnit.MILLISECONDS);
    }
  }

  public List<DemoRun> runs() {
    return runs;
  }

  /** Stops training and closes every agent with BYE (their last records are flushed first). */
  @Override
  public void close() {
    clock.shutdown();
    try {
      clock.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (ErgowatchAgent a : agents) {
      a.close(Bye.Status.CANCELLED, "demo stopped");
    }
  }
}
