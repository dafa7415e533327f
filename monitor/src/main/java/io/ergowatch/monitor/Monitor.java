package io.ergowatch.monitor;

import io.ergowatch.monitor.config.ConfigException;
import io.ergowatch.monitor.config.MonitorConfig;
import io.ergowatch.monitor.export.HttpApi;
import io.ergowatch.monitor.export.MonitorMetrics;
import io.ergowatch.monitor.export.RunMetricsCollector;
import io.ergowatch.monitor.ingest.IngestMetrics;
import io.ergowatch.monitor.ingest.IngestServer;
import io.ergowatch.monitor.pipeline.Pipeline;
import io.ergowatch.monitor.store.RecordStore;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running monitor: the pipeline, the EWP/1 listener and the HTTP side, wired from one
 * {@link MonitorConfig}. Used by {@code ergowatch serve}, the demo and end-to-end tests.
 *
 * <pre>{@code
 * try (Monitor m = Monitor.start(config)) {
 *   int ingest = m.ingestPort(), http = m.httpPort();
 * }
 * }</pre>
 */
public final class Monitor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Monitor.class);

  private final MonitorConfig config;
  private final Pipeline pipeline;
  private final PrometheusRegistry registry;
  private final IngestServer ingest;
  private final HttpApi http;
  private final AtomicBoolean accepting = new AtomicBoolean(true);
  private final AtomicBoolean closed = new AtomicBoolean();

  private Monitor(MonitorConfig config, LongSupplier wallClockNanos, boolean jvmMetrics) {
    this.config = config;
    try {
      Files.createDirectories(config.dataDir());
    } catch (IOException e) {
      throw new ConfigException("config key 'data-dir': cannot create " + config.dataDir() + " (" + e + ")");
    }
    RecordStore store = new RecordStore(config.store());
    store.applyRetention(System.currentTimeMillis());
    this.pipeline = new Pipeline(config.pipeline(), wallClockNanos, store);
    pipeline.replay();
    this.registry = new PrometheusRegistry();
    MonitorMetrics.register(registry, pipeline, jvmMetrics);
    IngestMetrics metrics = new IngestMetrics(registry);
    registry.register(new RunMetricsCollector(pipeline, Duration.ofSeconds(5)));
    IngestServer ingestServer = null;
    try {
      ingestServer = bind("ingest-port", config.ingestHost(), config.ingestPort(),
          () -> IngestServer.start(config.ingest(), pipeline, metrics));
      this.ingest = ingestServer;
      this.http = bind("http-port", config.httpHost(), config.httpPort(),
          () -> HttpApi.start(config.httpHost(), config.httpPort(), registry, pipeline, accepting::get, config.tls()));
    } catch (RuntimeException e) {
      if (ingestServer != null) {
        ingestServer.shutdown();
      }
      pipeline.close();
      throw e;
    }
  }

  /** Binds a listener, turning "address in use" into a message that names the setting. */
  private static <T> T bind(String key, String host, int port, java.util.function.Supplier<T> start) {
    try {
      return start.get();
    } catch (RuntimeException e) {
      if (e instanceof reactor.netty.ChannelBindException || e.getCause() instanceof java.net.BindException) {
        throw new ConfigException("config key '" + key + "': cannot listen on " + host + ":" + port
            + " (address in use or not available); choose another port, or stop what uses it");
      }
      throw e;
    }
  }

  /** Starts a monitor on the real wall clock. */
  public static Monitor start(MonitorConfig config) {
    return new Monitor(config, () -> System.currentTimeMillis() * 1_000_000L, true);
  }

  /** Starts a monitor for tests: explicit clock, no JVM metrics. */
  public static Monitor start(MonitorConfig config, LongSupplier wallClockNanos) {
    return new Monitor(config, wallClockNanos, false);
  }

  public int ingestPort() {
    return ingest.port();
  }

  public int httpPort() {
    return http.port();
  }

  public Pipeline pipeline() {
    return pipeline;
  }

  public MonitorConfig config() {
    return config;
  }

  /** One line a person reads at startup. */
  public String startupLine() {
    boolean tls = config.tlsKeystore() != null;
    return String.format("ergowatch monitor listening: EWP/1%s on %s:%d, HTTP on %s://%s:%d/ (metrics at /metrics), data dir %s",
        tls ? " over TLS" : "", config.ingestHost(), ingestPort(), tls ? "https" : "http", config.httpHost(), httpPort(),
        config.dataDir().toAbsolutePath().normalize());
  }

  /** Graceful shutdown: stop accepting, drain connections with final ACKs, then stop HTTP. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    accepting.set(false);
    log.info("shutting down: no new connections, draining open ones");
    ingest.shutdown();
    pipeline.close();
    http.close();
    log.info("stopped");
  }
}
