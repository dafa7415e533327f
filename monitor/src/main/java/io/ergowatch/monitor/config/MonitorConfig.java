package io.ergowatch.monitor.config;

import io.ergowatch.monitor.analytics.AnalyticsSettings;
import io.ergowatch.monitor.ingest.IngestSettings;
import io.ergowatch.monitor.ingest.Limits;
import io.ergowatch.monitor.pipeline.PipelineSettings;
import java.nio.file.Path;
import java.time.Duration;
import io.ergowatch.monitor.store.FsyncPolicy;
import io.ergowatch.monitor.store.StoreSettings;

/**
 * Every setting of the monitor, validated, in one immutable record built by
 * {@link ConfigLoader} from defaults, a YAML file, {@code ERGOWATCH_*} variables and flags.
 * docs/operations.md documents each key.
 */
public record MonitorConfig(
    String ingestHost,
    int ingestPort,
    String httpHost,
    int httpPort,
    Path dataDir,
    Duration silenceTimeout,
    Duration retention,
    int maxFrame,
    Duration ackInterval,
    Duration idleTimeout,
    Duration rankGrace,
    int lanes,
    Duration drainTimeout,
    FsyncPolicy fsync,
    Duration fsyncInterval,
    long segmentBytes,
    Duration logRetention,
    long logRetentionBytes,
    Path tokenFile,
    Path tlsKeystore,
    String tlsKeystorePassword,
    Limits limits,
    AnalyticsSettings analytics) {

  public static MonitorConfig defaults() {
    return new MonitorConfig("0.0.0.0", 7479, "0.0.0.0", 9479, Path.of("ergowatch-data"),
        Duration.ofSeconds(120), Duration.ofHours(1), io.ergowatch.protocol.Codec.DEFAULT_MAX_FRAME,
        Duration.ofMillis(100), Duration.ofSeconds(60), Duration.ofSeconds(30),
        Math.max(2, Runtime.getRuntime().availableProcessors()), Duration.ofSeconds(10), FsyncPolicy.BATCH,
        Duration.ofMillis(20), 64L << 20, Duration.ofDays(7), 10L << 30, null, null, "", Limits.defaults(),
        AnalyticsSettings.defaults());
  }

  public IngestSettings ingest() {
    return new IngestSettings(ingestHost, ingestPort, maxFrame, ackInterval, idleTimeout, drainTimeout, limits,
        tokenFile, tls());
  }

  /** The server TLS context, or null when no key store is configured (plain TCP and HTTP). */
  public io.netty.handler.ssl.SslContext tls() {
    return tlsKeystore == null ? null : Tls.serverContext(tlsKeystore, tlsKeystorePassword);
  }

  public StoreSettings store() {
    return new StoreSettings(dataDir, fsync, fsyncInterval, segmentBytes, logRetention, logRetentionBytes);
  }

  public PipelineSettings pipeline() {
    return new PipelineSettings(lanes, 256, rankGrace, 4096, silenceTimeout, retention,
        Duration.ofMillis(250), analytics, limits.maxRuns(), limits.maxSeriesPerRun());
  }
}
