package io.ergowatch.monitor.ingest;

import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.FrameException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the byte stream into batches of whole EWP/1 frames ({@link FrameBatch}: every complete
 * frame of a read, up to 64 per batch, in one retained slice). Each length is checked as soon
 * as its 4 bytes are in, before any body is buffered: 0 is BAD_FRAME and over {@code maxFrame}
 * is LIMIT_EXCEEDED. A bad length is passed on, after the batch of the frames before it, as a
 * {@link FrameException} object (not thrown) so the connection answers it with an ERROR frame
 * in order; everything after it is discarded unread, since EWP closes on every ERROR.
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
    int start = in.readerIndex();
    int end = in.writerIndex();
    int pos = start;
    int frames = 0;
    FrameException bad = null;
    while (frames < FrameBatch.MAX_FRAMES && end - pos >= Codec.LENGTH_BYTES) {
      long length = in.getUnsignedInt(pos);
      try {
        Codec.checkLength(length, maxFrame);
      } catch (FrameException e) {
        bad = e;
        break;
      }
      if (end - pos < Codec.LENGTH_BYTES + length) {
        break;
      }
      pos += Codec.LENGTH_BYTES + (int) length;
      frames++;
    }
    if (frames > 0) {
      out.add(new FrameBatch(in.readRetainedSlice(pos - start), frames));
    }
    if (bad != null) {
      failed = true;
      in.skipBytes(in.readableBytes());
      out.add(bad);
    }
  }
}
