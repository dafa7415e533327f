package io.ergowatch.demo;

import io.ergowatch.monitor.Monitor;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.config.ConfigLoader;
import io.ergowatch.monitor.config.MonitorConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ergowatch demo}: the monitor and several training runs in one process, with a live view
 * of their verdicts: three real Deeplearning4j trainings with the listener attached
 * ({@link Dl4jDemo}: improving, stalled with constant-step SGD, past the stability limit, and a
 * learning-rate sweep of a two-layer linear network); with {@code --simulated} (or when ND4J cannot load
 * here) the simulated (S)GD runs of {@link DemoTrainers#all()} instead of the DL4J ones. Ctrl-C
 * (or --duration) stops it cleanly.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Start the monitor with real DL4J training runs (incl. a learning-rate sweep) and show them live.")
public final class DemoCommand implements Callable<Integer> {
  @Option(names = "--ingest-port", description = "EWP/1 TCP port (default ${DEFAULT-VALUE}; 0 = any free port)")
  int ingestPort = 7479;

  @Option(names = "--http-port", description = "HTTP port (default ${DEFAULT-VALUE}; 0 = any free port)")
  int httpPort = 9479;

  @Option(names = "--duration", paramLabel = "DURATION", description = "stop after this long (e.g. 30s, 5m) and exit 0; default: until Ctrl-C")
  String duration;

  @Option(names = "--steps-per-second", description = "iterations per second per run (default ${DEFAULT-VALUE})")
  int stepsPerSecond = 200;

  @Option(names = "--dl4j-steps-per-second", description = "iterations per second of each real DL4J run (default ${DEFAULT-VALUE})")
  int dl4jStepsPerSecond = 50;

  @Option(names = "--simulated", description = "only simulated (S)GD runs, no Deeplearning4j training")
  boolean simulated;

  @Override
  public Integer call() throws Exception {
    Duration limit = duration == null ? null : parse(duration);
    Path dataDir = Files.createTempDirectory("ergowatch-demo");
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("ingest-port", Integer.toString(ingestPort));
    flags.put("http-port", Integer.toString(httpPort));
    flags.put("data-dir", dataDir.toString());
    flags.put("ingest-host", "127.0.0.1");
    MonitorConfig cfg = ConfigLoader.load(null, Map.of(), flags);
    Monitor monitor = Monitor.start(cfg);
    String header = "ergowatch demo — metrics: curl http://localhost:" + monitor.httpPort() + "/metrics   runs: http://localhost:"
        + monitor.httpPort() + "/api/runs\nPrometheus: scrape localhost:" + monitor.httpPort()
        + " (see README: 'Point Prometheus at it')";
    System.err.println(monitor.startupLine());
    String address = "127.0.0.1:" + monitor.ingestPort();
    Dl4jDemo real = null;
    if (!simulated) {
      try {
        real = new Dl4jDemo(address, dl4jStepsPerSecond);
      } catch (Throwable e) { // ND4J's natives may not load on this platform: fall back, say why
        System.err.println("ergowatch demo: Deeplearning4j runs unavailable here (" + e
            + "); running the simulated ones instead");
      }
    }
    DemoRunner runner = real != null ? null : new DemoRunner(address, stepsPerSecond, DemoTrainers.all());
    boolean terminal = System.console() != null;
    LiveView view = new LiveView(System.out, terminal, header);
    if (!terminal) {
      System.out.println(header);
    }
    CountDownLatch stop = new CountDownLatch(1);
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      stop.countDown();
      try {
        stopped.await(20, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "ergowatch-demo-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    long start = System.nanoTime();
    long refresh = terminal ? 500 : 5000;
    try {
      while (true) {
        long wait = refresh;
        if (limit != null) {
          long left = TimeUnit.NANOSECONDS.toMillis(limit.toNanos() - (System.nanoTime() - start));
          wait = Math.max(0, Math.min(wait, left));
        }
        if (stop.await(wait, TimeUnit.MILLISECONDS)) {
          break;
        }
        long elapsed = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
        List<RunSnapshot> runs = monitor.pipeline().snapshots().block(Duration.ofSeconds(5));
        view.render(runs == null ? List.of() : runs, elapsed);
        if (limit != null && System.nanoTime() - start >= limit.toNanos()) {
          break;
        }
      }
    } finally {
      System.out.println("stopping: closing agents (BYE), draining the monitor...");
      if (runner != null) {
        runner.close();
      }
      if (real != null) {
        real.close();
      }
      List<RunSnapshot> last = monitor.pipeline().snapshots().block(Duration.ofSeconds(5));
      monitor.close();
      if (last != null) {
        new LiveView(System.out, false, header).render(last,
            TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start));
      }
      stopped.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException alreadyShuttingDown) {
        // Ctrl-C: the hook is running and waits for 'stopped'.
      }
    }
    return 0;
  }

  private static Duration parse(String s) {
    try {
      return ConfigLoader.parseDuration(s);
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(new DemoCommand()),
          "--duration '" + s + "' is not a duration (use e.g. 30s, 5m)");
    }
  }
}
