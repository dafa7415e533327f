package io.ergowatch.monitor.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.monitor.analytics.JobAnalytics;
import io.ergowatch.monitor.pipeline.Pipeline;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerResponse;

/**
 * The read-only HTTP side (default port 9479): {@code /metrics} (Prometheus text or
 * OpenMetrics by content negotiation), {@code /api/runs}, {@code /api/runs/{run}},
 * {@code /healthz}, {@code /readyz}, and {@code /}: the live status page (static/index.html) for
 * browsers, a plain-text index of these paths otherwise. Every error is a 4xx/5xx with a
 * one-line message.
 */
public final class HttpApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

  private static final byte[] STATUS_PAGE = resource("/static/index.html");
  private static final byte[] RUN_PAGE = resource("/static/run.html");
  private static final String INDEX_TEXT = "ergowatch monitor\n\n/                 status page (HTML, for browsers)\n"
      + "/metrics          Prometheus metrics\n/api/runs         runs (JSON)\n"
      + "/api/runs/{run}   one run (JSON)\n/runs/{run}       one run's page (HTML)\n/api/jobs         jobs: seeds' R-hat, learning-rate sweeps (JSON)\n"
      + "/api/jobs/{job}   one job (JSON)\n/healthz /readyz  probes\n";

  private final DisposableServer server;
  private final PrometheusRegistry registry;
  private final Pipeline pipeline;
  private final RunJson json;
  private final ObjectMapper mapper;
  private final ExpositionFormats formats = ExpositionFormats.init();
  private final BooleanSupplier ready;

  private HttpApi(String host, int port, PrometheusRegistry registry, Pipeline pipeline, BooleanSupplier ready,
      io.netty.handler.ssl.SslContext tls) {
    this.registry = registry;
    this.pipeline = pipeline;
    this.mapper = new ObjectMapper();
    this.json = new RunJson(mapper);
    this.ready = ready;
    HttpServer base = HttpServer.create();
    if (tls != null) {
      base = base.secure(spec -> spec.sslContext(tls));
    }
    this.server = base
        .host(host)
        .port(port)
        .route(routes -> routes
            .get("/metrics", (req, res) -> metrics(req.requestHeaders().get(HttpHeaderNames.ACCEPT), res))
            .get("/api/runs", (req, res) -> sendJson(res, offLane(pipeline.snapshots()).map(json::list)))
            .get("/api/runs/{run}", (req, res) -> run(req.param("run"), res))
            .get("/api/jobs", (req, res) -> sendJson(res, offLane(pipeline.snapshots()).map(rs -> json.jobs(JobAnalytics.all(rs)))))
            .get("/api/jobs/{job}", (req, res) -> job(req.param("job"), res))
            .get("/healthz", (req, res) -> text(res, HttpResponseStatus.OK, "ok\n"))
            .get("/readyz", (req, res) -> ready.getAsBoolean()
                ? text(res, HttpResponseStatus.OK, "ready\n")
                : text(res, HttpResponseStatus.SERVICE_UNAVAILABLE, "not ready: ingestion is not accepting connections\n"))
            .get("/", (req, res) -> index(req.requestHeaders().get(HttpHeaderNames.ACCEPT), res))
            .get("/index.html", (req, res) -> index("text/html", res))
            .get("/runs/{run}", (req, res) -> html(res, RUN_PAGE))
            .route(r -> !r.method().equals(io.netty.handler.codec.http.HttpMethod.GET)
                    && !r.method().equals(io.netty.handler.codec.http.HttpMethod.HEAD),
                (req, res) -> text(res.header(HttpHeaderNames.ALLOW, "GET, HEAD"), HttpResponseStatus.METHOD_NOT_ALLOWED,
                    "read-only API: " + req.method() + " is not allowed, only GET\n"))
            .route(r -> true, (req, res) -> text(res, HttpResponseStatus.NOT_FOUND,
                "not found: " + req.method() + " " + req.uri() + " (try /metrics, /api/runs, /api/runs/{run}, /runs/{run}, /healthz, /readyz)\n")))
        // A read-only API needs no large requests: bounded request line and headers (414/431 beyond).
        .httpRequestDecoder(spec -> spec.maxInitialLineLength(4096).maxHeaderSize(16384))
        .bindNow();
  }

  /** The status page for browsers (static/index.html); a plain-text index for everyone else (curl). */
  private static Mono<Void> index(String accept, HttpServerResponse res) {
    if (accept == null || !accept.contains("text/html")) {
      return text(res, HttpResponseStatus.OK, INDEX_TEXT);
    }
    return html(res, STATUS_PAGE);
  }

  /** A page of static/: the run's page reads its run id from the path and fetches /api/runs/{run}. */
  private static Mono<Void> html(HttpServerResponse res, byte[] page) {
    return res.header(HttpHeaderNames.CONTENT_TYPE, "text/html; charset=utf-8")
        .header(HttpHeaderNames.CACHE_CONTROL, "no-cache")
        .sendByteArray(Mono.just(page)).then();
  }

  static byte[] resource(String name) {
    try (InputStream in = HttpApi.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + name + " in the monitor's jar");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read resource " + name, e);
    }
  }

  public static HttpApi start(String host, int port, PrometheusRegistry registry, Pipeline pipeline, BooleanSupplier ready) {
    return new HttpApi(host, port, registry, pipeline, ready, null);
  }

  /** As {@link #start(String, int, PrometheusRegistry, Pipeline, BooleanSupplier)}, over HTTPS when tls is set. */
  public static HttpApi start(String host, int port, PrometheusRegistry registry, Pipeline pipeline, BooleanSupplier ready,
      io.netty.handler.ssl.SslContext tls) {
    return new HttpApi(host, port, registry, pipeline, ready, tls);
  }

  public int port() {
    return ((InetSocketAddress) server.address()).getPort();
  }

  private Mono<Void> metrics(String accept, HttpServerResponse res) {
    ExpositionFormatWriter writer = formats.findWriter(accept);
    // scrape() waits for the lanes' snapshots: keep that off the event loop.
    return Mono.fromCallable(() -> {
          ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
          writer.write(out, registry.scrape());
          return out.toByteArray();
        })
        .subscribeOn(Schedulers.boundedElastic())
        .flatMap(bytes -> res.header(HttpHeaderNames.CONTENT_TYPE, writer.getContentType())
            .sendByteArray(Mono.just(bytes)).then())
        .onErrorResume(e -> {
          log.warn("scrape failed: {}", e.toString());
          return text(res, HttpResponseStatus.SERVICE_UNAVAILABLE, "scrape failed: " + e.getMessage() + "\n");
        });
  }

  private Mono<Void> run(String run, HttpServerResponse res) {
    return offLane(pipeline.snapshot(run)).flatMap(s -> s.isPresent()
        ? sendJson(res, Mono.just(json.detail(s.get())))
        : text(res, HttpResponseStatus.NOT_FOUND, "unknown run: " + run
            + " (not seen, or finished/silent for longer than the retention)\n"));
  }

  private Mono<Void> job(String job, HttpServerResponse res) {
    return offLane(pipeline.snapshots()).flatMap(rs -> {
      java.util.List<io.ergowatch.monitor.analytics.RunSnapshot> mine =
          rs.stream().filter(r -> r.job().equals(job)).toList();
      return mine.isEmpty()
          ? text(res, HttpResponseStatus.NOT_FOUND, "unknown job: " + job + " (no run of it on /metrics)\n")
          : sendJson(res, Mono.just(json.job(JobAnalytics.of(job, mine))));
    });
  }

  /**
   * Snapshots arrive on a run's lane; what is done with them (JSON, job analytics, the write) is
   * done elsewhere, so that a listing of many runs never holds a lane that records are waiting for.
   */
  private static <T> Mono<T> offLane(Mono<T> snapshots) {
    return snapshots.publishOn(Schedulers.parallel());
  }

  private Mono<Void> sendJson(HttpServerResponse res, Mono<? extends com.fasterxml.jackson.databind.JsonNode> body) {
    return body.flatMap(node -> {
      byte[] bytes;
      try {
        bytes = mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(node);
      } catch (Exception e) {
        return text(res, HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot render JSON: " + e.getMessage() + "\n");
      }
      return res.header(HttpHeaderNames.CONTENT_TYPE, "application/json").sendByteArray(Mono.just(bytes)).then();
    });
  }

  private static Mono<Void> text(HttpServerResponse res, HttpResponseStatus status, String body) {
    return res.status(status).header(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .sendString(Mono.just(body), StandardCharsets.UTF_8).then();
  }

  @Override
  public void close() {
    server.disposeNow(Duration.ofSeconds(5));
  }

}
