package io.ergowatch.protocol;

/** HEARTBEAT (0x03): empty; an agent sends it after 5 s without a STEP. */
public record Heartbeat() implements Frame {
  public static final Heartbeat INSTANCE = new Heartbeat();

  @Override
  public FrameType type() {
    return FrameType.HEARTBEAT;
  }
}
