package io.ergowatch.protocol;

/** ERROR (0x83): the monitor refuses something and closes the connection. */
public record ErrorFrame(ErrorCode code, String message) implements Frame {
  public ErrorFrame {
    java.util.Objects.requireNonNull(code, "code");
    Codec.checkStringLength("message", message);
  }

  /** The ERROR that answers an exception raised while reading a connection. */
  public static ErrorFrame of(FrameException e) {
    return new ErrorFrame(e.reason(), Codec.fitString(e.getMessage()));
  }

  @Override
  public FrameType type() {
    return FrameType.ERROR;
  }
}
