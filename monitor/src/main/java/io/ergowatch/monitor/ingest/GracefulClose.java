package io.ergowatch.monitor.ingest;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;

/**
 * Closes a connection after an ERROR frame so that the agent reads the frame. Closing a TCP
 * socket that still holds unread bytes (an agent streams STEPs while the monitor rejects it)
 * makes the kernel answer with a reset, which discards what was not yet delivered — the ERROR
 * frame among it — and the agent sees "connection reset" instead of the reason. So: stop
 * handing input to the session, send FIN after the ERROR (half-close), read and drop whatever
 * still arrives until the agent closes its side or {@code linger} passes, then close.
 */
final class GracefulClose {
  private GracefulClose() {}

  static Mono<Void> afterError(Connection c, Duration linger) {
    Channel ch = c.channel();
    return Mono.<Void>defer(() -> {
      if (!ch.isActive()) {
        return Mono.empty();
      }
      ch.pipeline().addFirst("ewp-discard", new Discard());
      ch.config().setAutoRead(true);
      SslHandler tls = ch.pipeline().get(SslHandler.class);
      if (tls != null) {
        tls.closeOutbound().addListener(f -> halfClose(ch)); // close_notify, then FIN
      } else {
        halfClose(ch);
      }
      return c.onDispose().timeout(linger, Mono.empty());
    }).onErrorResume(e -> Mono.empty());
  }

  private static void halfClose(Channel ch) {
    if (ch instanceof DuplexChannel && ch.isActive()) {
      ((DuplexChannel) ch).shutdownOutput();
    }
  }

  /** Drops every inbound message: the session is over, only the agent's FIN is awaited. */
  private static final class Discard extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
    }
  }
}
