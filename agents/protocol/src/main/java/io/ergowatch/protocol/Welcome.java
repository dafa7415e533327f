package io.ergowatch.protocol;

/** WELCOME (0x81): the monitor accepts a HELLO. */
public record Welcome(long ackedSeq, long maxFrame) implements Frame {
  public Welcome {
    if (ackedSeq < 0) {
      throw new FrameException(ErrorCode.BAD_FRAME, "acked_seq " + Long.toUnsignedString(ackedSeq) + " exceeds 2^63-1");
    }
    if (maxFrame < 1 || maxFrame > 0xFFFF_FFFFL) {
      throw new FrameException(ErrorCode.BAD_FRAME, "max_frame " + maxFrame + " outside 1..2^32-1");
    }
  }

  @Override
  public FrameType type() {
    return FrameType.WELCOME;
  }
}
