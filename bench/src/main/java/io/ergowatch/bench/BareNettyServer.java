package io.ergowatch.bench;

import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameType;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.LongAdder;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpServer;

/**
 * The baseline of performance.md: bare Reactor Netty with the same frame decoder and nothing
 * else (no dedup, no ACK, no pipeline). It counts STEP frames.
 */
final class BareNettyServer implements AutoCloseable {
  final LongAdder steps = new LongAdder();
  private final DisposableServer server;

  BareNettyServer() {
    server = TcpServer.create().host("127.0.0.1").port(0)
        .doOnConnection(c -> c.addHandlerLast(new LengthFieldBasedFrameDecoder(Codec.DEFAULT_MAX_FRAME + 4, 0, 4, 0, 4)))
        .handle((in, out) -> {
          FrameDecoder decoder = new FrameDecoder();
          return in.receiveObject().doOnNext(o -> {
            Frame f = decoder.decode(((ByteBuf) o).nioBuffer());
            if (f.type() == FrameType.STEP) {
              steps.increment();
            }
          }).then();
        })
        .bindNow();
  }

  int port() {
    return ((InetSocketAddress) server.address()).getPort();
  }

  @Override
  public void close() {
    server.disposeNow();
  }
}
