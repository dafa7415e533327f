package io.ergowatch.protocol;

/**
 * A frame, or a sequence of frames, broke EWP/1. The {@link #reason()} is the ERROR code the
 * monitor answers with; the message says what was wrong and, where safe, the offending value.
 * Unchecked because it crosses reactive operators; it never carries a stack trace worth
 * printing, so it does not capture one.
 */
public final class FrameException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ErrorCode reason;

  public FrameException(ErrorCode reason, String message) {
    super(message, null, false, false);
    this.reason = java.util.Objects.requireNonNull(reason, "reason");
  }

  public ErrorCode reason() {
    return reason;
  }

  @Override
  public String toString() {
    return reason + ": " + getMessage();
  }
}
