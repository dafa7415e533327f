package io.ergowatch.protocol;

/** The type byte of an EWP/1 frame. */
public enum FrameType {
  HELLO(0x01),
  STEP(0x02),
  HEARTBEAT(0x03),
  BYE(0x04),
  WELCOME(0x81),
  ACK(0x82),
  ERROR(0x83);

  private final int wire;

  FrameType(int wire) {
    this.wire = wire;
  }

  public int wire() {
    return wire;
  }

  /** The lower-case name used as the {@code type} label of {@code ergowatch_frames_total}. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  public static FrameType fromWire(int wire) {
    switch (wire) {
      case 0x01: return HELLO;
      case 0x02: return STEP;
      case 0x03: return HEARTBEAT;
      case 0x04: return BYE;
      case 0x81: return WELCOME;
      case 0x82: return ACK;
      case 0x83: return ERROR;
      default:
        throw new FrameException(ErrorCode.BAD_FRAME,
            String.format("unknown frame type 0x%02x", wire));
    }
  }
}
