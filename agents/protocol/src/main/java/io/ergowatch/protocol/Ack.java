package io.ergowatch.protocol;

/** ACK (0x82): cumulative, every seq ≤ ackedSeq of this connection's session is recorded. */
public record Ack(long ackedSeq) implements Frame {
  public Ack {
    if (ackedSeq < 0) {
      throw new FrameException(ErrorCode.BAD_FRAME, "acked_seq " + Long.toUnsignedString(ackedSeq) + " exceeds 2^63-1");
    }
  }

  @Override
  public FrameType type() {
    return FrameType.ACK;
  }
}
