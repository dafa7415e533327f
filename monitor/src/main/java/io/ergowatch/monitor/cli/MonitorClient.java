package io.ergowatch.monitor.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** GETs the JSON API of a live monitor, with errors a person can act on. */
final class MonitorClient {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final URI base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

  MonitorClient(URI base) {
    this.base = base;
  }

  URI base() {
    return base;
  }

  /** /api/runs: the run summaries, sorted by run id. */
  JsonNode runs() {
    return get("/api/runs", null);
  }

  /** /api/runs/{run}. @throws CliException (exit code 1) when the monitor has no such run */
  JsonNode run(String run) {
    return get("/api/runs/" + URLEncoder.encode(run, StandardCharsets.UTF_8).replace("+", "%20"), run);
  }

  private JsonNode get(String path, String run) {
    URI uri = URI.create(base + path);
    HttpResponse<String> res;
    try {
      res = http.send(HttpRequest.newBuilder(uri).timeout(TIMEOUT).header("Accept", "application/json").build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException | HttpConnectTimeoutException e) {
      throw new CliException("cannot reach the monitor at " + base + " ("
          + (e.getMessage() == null ? "connection refused" : e.getMessage())
          + "): is `ergowatch serve` running there? Give its HTTP address with --url or ERGOWATCH_URL");
    } catch (HttpTimeoutException e) {
      throw new CliException("the monitor at " + base + " did not answer " + path + " within " + TIMEOUT.toSeconds() + " s");
    } catch (IOException e) {
      throw new CliException("cannot read " + uri + ": " + reason(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
    if (res.statusCode() == 404 && run != null) {
      throw new CliException("the monitor at " + base + " has no run " + run
          + " (unknown, or past its retention; `ergowatch runs` lists what it has)", 1);
    }
    if (res.statusCode() != 200) {
      throw new CliException("the monitor at " + base + " answered " + path + " with HTTP " + res.statusCode() + ": "
          + res.body().strip());
    }
    try {
      return MAPPER.readTree(res.body());
    } catch (IOException e) {
      throw new CliException(uri + " did not answer JSON (is " + base + " an ergowatch monitor?): " + reason(e));
    }
  }

  private static String reason(Exception e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
  }
}
