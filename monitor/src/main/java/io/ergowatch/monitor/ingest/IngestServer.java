package io.ergowatch.monitor.ingest;

import io.ergowatch.monitor.pipeline.Pipeline;
import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.ErrorFrame;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpServer;

/**
 * The EWP/1 listener (TCP, default port 7479) on Reactor Netty. Each connection gets its own
 * {@link ConnectionSession}; reads follow the demand of the pipeline, so a slow run slows its
 * sockets instead of filling memory.
 *
 * <pre>{@code
 * IngestServer server = IngestServer.start(IngestSettings.defaults(), pipeline, metrics);
 * ...
 * server.shutdown(); // stop accepting, drain, final ACKs
 * }</pre>
 */
public final class IngestServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger("io.ergowatch.monitor.ingest");
  /** How long a rejected agent gets to read the ERROR frame and close its side. */
  private static final Duration ERROR_LINGER = Duration.ofSeconds(2);

  private final DisposableServer server;
  private final IngestSettings settings;
  private final Set<ConnectionSession> sessions = ConcurrentHashMap.newKeySet();
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private final ConnectionLimit limit;

  private IngestServer(IngestSettings settings, Pipeline pipeline, IngestMetrics metrics) {
    this.settings = settings;
    this.limit = new ConnectionLimit(settings.limits().maxConnections());
    TokenAuth auth = settings.auth();
    TcpServer tcp = TcpServer.create();
    if (settings.tls() != null) {
      tcp = tcp.secure(spec -> spec.sslContext(settings.tls()));
    }
    this.server = tcp
        .host(settings.host())
        .port(settings.port())
        .childOption(ChannelOption.TCP_NODELAY, true)
        .doOnConnection(c -> {
          c.addHandlerLast("ewp-frames", new EwpFrameDecoder(settings.maxFrame()));
          c.onReadIdle(settings.idleTimeout().toMillis(), () -> {
            log.info("closing {}: nothing received for {} s (idle timeout)", peer(c), settings.idleTimeout().toSeconds());
            c.dispose();
          });
        })
        .handle((in, out) -> {
          Connection[] holder = new Connection[1];
          in.withConnection(c -> holder[0] = c);
          Connection c = holder[0];
          if (!limit.tryAcquire()) {
            int open = limit.open();
            log.warn("refused {}: {} connections open, the limit (max-connections)", peer(c), open);
            metrics.rejected(ErrorCode.OVERLOADED);
            return out.send(Mono.just(encode(c, new ErrorFrame(ErrorCode.OVERLOADED, "the monitor has "
                + open + " connections open, its limit; retry later")))).then()
                .then(GracefulClose.afterError(c, ERROR_LINGER));
          }
          ConnectionSession session = new ConnectionSession(c, peer(c), pipeline, metrics, settings, auth);
          sessions.add(session);
          connections.add(c);
          metrics.connectionOpened();
          c.onDispose(() -> {
            sessions.remove(session);
            connections.remove(c);
            limit.release();
            metrics.connectionClosed();
            session.closed();
          });
          return out.send(session.run(in.receiveObject()).map(f -> encode(c, f)), b -> true).then()
              .then(Mono.defer(() -> session.rejected() ? GracefulClose.afterError(c, ERROR_LINGER) : Mono.empty()));
        })
        .bindNow();
  }

  public static IngestServer start(IngestSettings settings, Pipeline pipeline, IngestMetrics metrics) {
    return new IngestServer(settings, pipeline, metrics);
  }

  private static ByteBuf encode(Connection c, Frame f) {
    int n = FrameEncoder.encodedLength(f);
    ByteBuf buf = c.channel().alloc().buffer(n);
    FrameEncoder.encode(f, buf.nioBuffer(0, n));
    buf.writerIndex(n);
    return buf;
  }

  private static String peer(Connection c) {
    java.net.SocketAddress a = c.channel().remoteAddress();
    return a == null ? "?" : a.toString().replaceFirst("^/", "");
  }

  /** The bound port (useful with port 0). */
  public int port() {
    return ((InetSocketAddress) server.address()).getPort();
  }

  /**
   * Graceful shutdown: stop accepting, let every connection apply what it has read and send
   * its final ACK, then close (bounded by the drain timeout).
   */
  public void shutdown() {
    server.disposeNow(Duration.ofSeconds(1).compareTo(settings.drainTimeout()) < 0 ? Duration.ofSeconds(1) : settings.drainTimeout());
    CountDownLatch done = new CountDownLatch(connections.size());
    for (Connection c : connections) {
      c.onDispose(done::countDown);
    }
    sessions.forEach(ConnectionSession::drain);
    try {
      if (!done.await(settings.drainTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("{} connections still open after the drain timeout; closing them", done.getCount());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    connections.forEach(Connection::dispose);
  }

  @Override
  public void close() {
    shutdown();
  }

  /** For tests: a Mono that completes when the server channel closes. */
  Mono<Void> onDispose() {
    return server.onDispose();
  }
}
