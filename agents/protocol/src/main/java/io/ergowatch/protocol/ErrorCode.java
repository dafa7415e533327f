package io.ergowatch.protocol;

/**
 * The EWP/1 ERROR codes. Each code is also the {@code reason} label of
 * {@code ergowatch_frames_rejected_total}, so the two never disagree.
 */
public enum ErrorCode {
  BAD_FRAME(1),
  UNSUPPORTED_VERSION(2),
  UNAUTHORIZED(3),
  INVALID_NAME(4),
  LIMIT_EXCEEDED(5),
  PROTOCOL_ORDER(6),
  OVERLOADED(7),
  INTERNAL(8);

  private final int wire;

  ErrorCode(int wire) {
    this.wire = wire;
  }

  /** The u16 value on the wire. */
  public int wire() {
    return wire;
  }

  /** The lower-case name used as a metric label, e.g. {@code bad_frame}. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Looks up a wire code; an unknown one is itself a BAD_FRAME. */
  public static ErrorCode fromWire(int wire) {
    for (ErrorCode c : values()) {
      if (c.wire == wire) {
        return c;
      }
    }
    throw new FrameException(BAD_FRAME, "unknown ERROR code " + wire);
  }
}
