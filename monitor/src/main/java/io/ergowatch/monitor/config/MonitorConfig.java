package io.ergowatch.monitor.config;

import io.ergowatch.monitor.analytics.AnalyticsSettings;
import io.ergowatch.monitor.ingest.IngestSettings;
import io.ergowatch.monitor.ingest.Limits;
import io.ergowatch.monitor.ingest.TokenAuth;
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

  /** Where the data directory is unless configured: relative to the working directory. */
  static final Path DEFAULT_DATA_DIR = Path.of("ergowatch-data");
  static final String DEFAULT_HTTP_HOST = "0.0.0.0";
  static final int DEFAULT_HTTP_PORT = 9479;

  /**
   * The defaults, taken from the settings of the layer each key configures (IngestSettings,
   * PipelineSettings, StoreSettings, Limits, AnalyticsSettings): every default is written once,
   * in the layer that uses it, and documented once, in docs/operations.md (ConfigDefaultsTest
   * compares the two).
   */
  public static MonitorConfig defaults() {
    IngestSettings in = IngestSettings.defaults();
    PipelineSettings p = PipelineSettings.defaults();
    StoreSettings st = StoreSettings.defaults(DEFAULT_DATA_DIR);
    return new MonitorConfig(in.host(), in.port(), DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, st.dataDir(),
        p.silenceTimeout(), p.retention(), in.maxFrame(), in.ackInterval(), in.idleTimeout(), p.rankGrace(),
        p.lanes(), in.drainTimeout(), st.fsync(), st.fsyncInterval(), st.segmentBytes(), st.retention(),
        st.retentionBytes(), null, null, "", in.limits(), p.analytics());
  }

  /** The listener's settings; reads the token file (a bad one is an error naming the key). */
  public IngestSettings ingest() {
    TokenAuth auth = null;
    if (tokenFile != null) {
      try {
        auth = TokenAuth.load(tokenFile);
      } catch (IllegalArgumentException e) {
        throw new ConfigException("config key 'token-file': " + e.getMessage());
      }
    }
    return new IngestSettings(ingestHost, ingestPort, maxFrame, ackInterval, idleTimeout, drainTimeout, limits,
        auth, tls());
  }

  /** The server TLS context, or null when no key store is configured (plain TCP and HTTP). */
  public io.netty.handler.ssl.SslContext tls() {
    return tlsKeystore == null ? null : Tls.serverContext(tlsKeystore, tlsKeystorePassword);
  }

  public StoreSettings store() {
    return new StoreSettings(dataDir, fsync, fsyncInterval, segmentBytes, logRetention, logRetentionBytes);
  }

  public PipelineSettings pipeline() {
    PipelineSettings d = PipelineSettings.defaults();
    return new PipelineSettings(lanes, d.prefetch(), rankGrace, d.maxPendingSteps(), silenceTimeout, retention,
        d.tickInterval(), analytics, limits.maxRuns(), limits.maxSeriesPerRun());
  }
}
