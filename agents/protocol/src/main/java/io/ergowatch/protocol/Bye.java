package io.ergowatch.protocol;

/** BYE (0x04): the run ends; the monitor answers with a final ACK and closes. */
public record Bye(Status status, String message) implements Frame {

  /** How the run ended. */
  public enum Status {
    COMPLETED, FAILED, CANCELLED;

    public int wire() {
      return ordinal();
    }

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Status fromWire(int wire) {
      if (wire < 0 || wire >= values().length) {
        throw new FrameException(ErrorCode.BAD_FRAME, "unknown BYE status " + wire + " (0 completed, 1 failed, 2 cancelled)");
      }
      return values()[wire];
    }
  }

  public Bye {
    java.util.Objects.requireNonNull(status, "status");
    Codec.checkStringLength("message", message);
  }

  @Override
  public FrameType type() {
    return FrameType.BYE;
  }
}
