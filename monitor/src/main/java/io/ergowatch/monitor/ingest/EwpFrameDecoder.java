package io.ergowatch.monitor.ingest;

import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.FrameException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the byte stream into EWP/1 frame bodies (type + payload). The length is checked as
 * soon as its 4 bytes are in, before any body is buffered: 0 is BAD_FRAME and over
 * {@code maxFrame} is LIMIT_EXCEEDED. A bad length is passed on as a {@link FrameException}
 * object (not thrown) so the connection answers it with an ERROR frame in order; everything
 * after it is discarded unread, since EWP closes on every ERROR.
 */
final class EwpFrameDecoder extends ByteToMessageDecoder {
  private final long maxFrame;
  private boolean failed;

  EwpFrameDecoder(long maxFrame) {
    this.maxFrame = maxFrame;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (in.readableBytes() < Codec.LENGTH_BYTES) {
      return;
    }
    long length = in.getUnsignedInt(in.readerIndex());
    try {
      Codec.checkLength(length, maxFrame);
    } catch (FrameException e) {
      failed = true;
      in.skipBytes(in.readableBytes());
      out.add(e);
      return;
    }
    if (in.readableBytes() < Codec.LENGTH_BYTES + length) {
      return;
    }
    in.skipBytes(Codec.LENGTH_BYTES);
    out.add(in.readRetainedSlice((int) length));
  }
}
