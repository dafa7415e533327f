package io.ergowatch.monitor.dashboards;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's /usr/bin/prometheus on loopback, with a given configuration and a temporary TSDB,
 * for as long as a test needs it. Its HTTP API answers in JSON; {@link #query} evaluates an
 * instant query and returns Prometheus's whole answer (status, data or error).
 */
final class PrometheusServer implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Process process;
  private final Path log;
  private final int port;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private PrometheusServer(Process process, Path log, int port) {
    this.process = process;
    this.log = log;
    this.port = port;
  }

  /** Starts Prometheus with {@code config} (YAML text) in {@code dir}; fails with its log if it does not become ready. */
  static PrometheusServer start(Path binary, Path dir, String config) throws IOException, InterruptedException {
    Path configFile = dir.resolve("prometheus.yml");
    Files.writeString(configFile, config);
    String lastLog = "";
    for (int attempt = 0; attempt < 3; attempt++) {
      int port = freePort();
      Path log = dir.resolve("prometheus-" + attempt + ".log");
      Process p = new ProcessBuilder(List.of(binary.toString(),
          "--config.file=" + configFile,
          "--storage.tsdb.path=" + dir.resolve("data-" + attempt),
          "--web.listen-address=127.0.0.1:" + port,
          "--log.level=info"))
          .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      PrometheusServer server = new PrometheusServer(p, log, port);
      if (server.awaitReady()) {
        return server;
      }
      lastLog = server.logText();
      server.close();
      if (!lastLog.contains("address already in use")) {
        break; // not a port race: a real failure
      }
    }
    return fail("Prometheus did not become ready within " + START_TIMEOUT + "; its log:\n" + lastLog);
  }

  private boolean awaitReady() throws InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline && process.isAlive()) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/-/ready")).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return true;
        }
      } catch (IOException notYet) {
        // not listening yet
      }
      Thread.sleep(50);
    }
    return false;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  /** GET on the HTTP API; the parsed JSON answer whatever its status. */
  JsonNode get(String path) throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    return Repo.JSON.readTree(r.body());
  }

  /** An instant query (POST /api/v1/query); the parsed answer: status "success" with data, or "error" with error. */
  JsonNode query(String expr) throws IOException, InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(uri("/api/v1/query")).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8)))
        .build();
    return Repo.JSON.readTree(http.send(req, HttpResponse.BodyHandlers.ofString()).body());
  }

  String logText() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
