package io.ergowatch.agent;

import io.ergowatch.protocol.Hello;

/**
 * The validated settings of one agent, built once by {@link ErgowatchAgent.Builder}.
 *
 * @param host monitor host, resolved again at every connect
 * @param port monitor port
 * @param hello the HELLO of the first session; {@code series} ends with {@code agent_dropped}
 * @param userSeries how many series {@code record()} takes (all but {@code agent_dropped})
 * @param tls socket factory for TLS to the monitor; null for plain TCP
 */
record AgentConfig(
    String host,
    int port,
    Hello hello,
    int userSeries,
    int bufferCapacity,
    int maxInFlight,
    int batchMaxRecords,
    long flushIntervalNanos,
    long heartbeatIntervalNanos,
    long backoffInitialNanos,
    long backoffMaxNanos,
    long connectTimeoutNanos,
    long readTimeoutNanos,
    long closeTimeoutNanos,
    javax.net.ssl.SSLSocketFactory tls) {

  /** "host:port" for log lines. */
  String address() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
