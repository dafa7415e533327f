package io.ergowatch.monitor.ingest;

import java.time.Duration;

/**
 * Settings of the EWP/1 listener.
 *
 * @param host interface to bind
 * @param port TCP port, 0 for any free one
 * @param maxFrame largest frame body accepted (type + payload), told to agents in WELCOME
 * @param ackInterval how often a connection sends its cumulative ACK while records flow
 * @param idleTimeout a connection that sends nothing (not even HEARTBEAT) this long is closed
 * @param drainTimeout how long a graceful shutdown waits for connections to drain
 * @param limits bounds per client (connections, runs, series, labels, rate)
 * @param auth the tokens HELLOs must carry; null when the monitor needs no token
 * @param tls the server's TLS context; null for plain TCP
 */
public record IngestSettings(
    String host, int port, int maxFrame, Duration ackInterval, Duration idleTimeout, Duration drainTimeout,
    Limits limits, TokenAuth auth, io.netty.handler.ssl.SslContext tls) {

  public static IngestSettings defaults() {
    return new IngestSettings("0.0.0.0", 7479, io.ergowatch.protocol.Codec.DEFAULT_MAX_FRAME,
        Duration.ofMillis(100), Duration.ofSeconds(60), Duration.ofSeconds(10), Limits.defaults(), null, null);
  }

  public IngestSettings withPort(int p) {
    return new IngestSettings(host, p, maxFrame, ackInterval, idleTimeout, drainTimeout, limits, auth, tls);
  }

  public IngestSettings withHost(String h) {
    return new IngestSettings(h, port, maxFrame, ackInterval, idleTimeout, drainTimeout, limits, auth, tls);
  }

  public IngestSettings withMaxFrame(int m) {
    return new IngestSettings(host, port, m, ackInterval, idleTimeout, drainTimeout, limits, auth, tls);
  }

  public IngestSettings withIdleTimeout(Duration d) {
    return new IngestSettings(host, port, maxFrame, ackInterval, d, drainTimeout, limits, auth, tls);
  }
}
