package io.ergowatch.protocol;

/** How the ranks of a run split the work (HELLO.mode). */
public enum Mode {
  /** Data parallel: gradients are identical on every rank after the all-reduce. */
  REPLICATED,
  /** FSDP / tensor parallel: each rank owns a shard of the parameters. */
  SHARDED;

  public int wire() {
    return ordinal();
  }

  public static Mode fromWire(int wire) {
    if (wire == 0) {
      return REPLICATED;
    }
    if (wire == 1) {
      return SHARDED;
    }
    throw new FrameException(ErrorCode.BAD_FRAME, "unknown mode " + wire + " (0 REPLICATED, 1 SHARDED)");
  }
}
