package io.ergowatch.monitor.testing;

import io.ergowatch.monitor.Monitor;
import io.ergowatch.monitor.analytics.RunSnapshot;
import io.ergowatch.monitor.config.ConfigLoader;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/** A real monitor on loopback with free ports, plus small helpers to look at it. */
public final class TestMonitor implements AutoCloseable {
  private final Monitor monitor;
  private final HttpClient http = HttpClient.newHttpClient();

  public TestMonitor(Path dataDir, Map<String, String> extraFlags) {
    Map<String, String> flags = new HashMap<>(Map.of(
        "ingest-host", "127.0.0.1", "http-host", "127.0.0.1",
        "ingest-port", "0", "http-port", "0", "data-dir", dataDir.toString()));
    flags.putAll(extraFlags);
    monitor = Monitor.start(ConfigLoader.load(null, Map.of(), flags), () -> System.currentTimeMillis() * 1_000_000L);
  }

  public TestMonitor(Path dataDir) {
    this(dataDir, Map.of());
  }

  public Monitor monitor() {
    return monitor;
  }

  public int ingestPort() {
    return monitor.ingestPort();
  }

  public Optional<RunSnapshot> run(String run) {
    return monitor.pipeline().snapshot(run).block(Duration.ofSeconds(5));
  }

  public HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return get(path, null);
  }

  public HttpResponse<String> get(String path, String accept) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + monitor.httpPort() + path))
        .timeout(Duration.ofSeconds(10));
    if (accept != null) {
      b.header("Accept", accept);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Polls a condition until it holds or the deadline passes (no blind sleeps). */
  public static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for: " + what);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for: " + what);
      }
    }
  }

  @Override
  public void close() {
    monitor.close();
  }
}
