package io.ergowatch.monitor.dashboards;

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
import java.util.Map;
import java.util.Optional;

/**
 * A monitor on loopback exactly as {@code ergowatch serve} starts it (JVM metrics included, which
 * the Monitor dashboard shows), on free ports.
 */
final class ServedMonitor implements AutoCloseable {
  private final Monitor monitor;
  private final HttpClient http = HttpClient.newHttpClient();

  ServedMonitor(Path dataDir) {
    monitor = Monitor.start(ConfigLoader.load(null, Map.of(), Map.of(
        "ingest-host", "127.0.0.1", "http-host", "127.0.0.1",
        "ingest-port", "0", "http-port", "0", "data-dir", dataDir.toString())));
  }

  int ingestPort() {
    return monitor.ingestPort();
  }

  int httpPort() {
    return monitor.httpPort();
  }

  Optional<RunSnapshot> run(String run) {
    return monitor.pipeline().snapshot(run).block(Duration.ofSeconds(5));
  }

  HttpResponse<String> get(String path, String accept) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort() + path))
        .timeout(Duration.ofSeconds(10));
    if (accept != null) {
      b.header("Accept", accept);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Override
  public void close() {
    monitor.close();
  }
}
