package io.ergowatch.protocol;

import java.util.Arrays;

/**
 * STEP (0x02): the values of some series at one training iteration.
 *
 * <p>Immutable. Entries are held in two parallel arrays that never escape (read them with
 * {@link #seriesId(int)} and {@link #value(int)}), so the decoder can build a Step without
 * copying. Values may be NaN or ±Inf: they are data, never errors.
 */
public final class Step implements Frame {
  /** count is a u16 on the wire. */
  public static final int MAX_VALUES = 0xFFFF;

  private final long seq;
  private final long step;
  private final long timeNanos;
  private final int[] ids;
  private final double[] values;

  private Step(long seq, long step, long timeNanos, int[] ids, double[] values) {
    this.seq = seq;
    this.step = step;
    this.timeNanos = timeNanos;
    this.ids = ids;
    this.values = values;
  }

  /**
   * A validated STEP. The arrays are copied.
   *
   * @throws FrameException BAD_FRAME for seq &lt; 1, step &lt; 0, an id outside [0, 65535] or
   *     twice; LIMIT_EXCEEDED for more than 65535 values
   * @throws IllegalArgumentException for arrays of different lengths (a programming error)
   */
  public static Step of(long seq, long step, long timeNanos, int[] ids, double[] values) {
    if (ids.length != values.length) {
      throw new IllegalArgumentException("ids and values differ in length: " + ids.length + " vs " + values.length);
    }
    int[] idsCopy = ids.clone();
    checkIds(idsCopy, idsCopy.length, new long[1024]);
    return trusted(seq, step, timeNanos, idsCopy, values.clone());
  }

  /** For the decoder: arrays already validated and owned by the new Step. */
  static Step trusted(long seq, long step, long timeNanos, int[] ids, double[] values) {
    if (seq < 1) {
      throw new FrameException(ErrorCode.BAD_FRAME, "seq must be >= 1, got " + Long.toUnsignedString(seq));
    }
    if (step < 0) {
      throw new FrameException(ErrorCode.BAD_FRAME, "step " + Long.toUnsignedString(step) + " exceeds 2^63-1");
    }
    if (ids.length > MAX_VALUES) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED, "at most 65535 values per STEP");
    }
    return new Step(seq, step, timeNanos, ids, values);
  }

  /**
   * Rejects ids out of range or repeated, using {@code seen} (1024 longs = 65536 bits, all
   * zero on entry, all zero again on return) so the check allocates nothing.
   */
  static void checkIds(int[] ids, int count, long[] seen) {
    int i = 0;
    try {
      for (; i < count; i++) {
        int id = ids[i];
        if (id < 0 || id > 0xFFFF) {
          throw new FrameException(ErrorCode.BAD_FRAME, "series id " + id + " outside u16");
        }
        long bit = 1L << (id & 63);
        if ((seen[id >>> 6] & bit) != 0) {
          throw new FrameException(ErrorCode.BAD_FRAME, "series id " + id + " appears twice in one STEP");
        }
        seen[id >>> 6] |= bit;
      }
    } finally {
      for (int j = 0; j < i; j++) {
        int id = ids[j];
        if (id >= 0 && id <= 0xFFFF) {
          seen[id >>> 6] = 0;
        }
      }
    }
  }

  @Override
  public FrameType type() {
    return FrameType.STEP;
  }

  public long seq() {
    return seq;
  }

  public long step() {
    return step;
  }

  /** Agent wall clock when the step was recorded, Unix epoch nanoseconds. */
  public long timeNanos() {
    return timeNanos;
  }

  public int count() {
    return ids.length;
  }

  public int seriesId(int index) {
    return ids[index];
  }

  public double value(int index) {
    return values[index];
  }

  /** The largest series id carried, or -1 when empty. */
  public int maxSeriesId() {
    int max = -1;
    for (int id : ids) {
      max = Math.max(max, id);
    }
    return max;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Step)) {
      return false;
    }
    Step s = (Step) o;
    return seq == s.seq && step == s.step && timeNanos == s.timeNanos
        && Arrays.equals(ids, s.ids) && Arrays.equals(values, s.values);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(seq) * 31 + Long.hashCode(step) * 17 + Arrays.hashCode(ids);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("Step[seq=").append(seq).append(", step=").append(step)
        .append(", time=").append(timeNanos).append(", values={");
    for (int i = 0; i < ids.length; i++) {
      sb.append(i == 0 ? "" : ", ").append(ids[i]).append('=').append(values[i]);
    }
    return sb.append("}]").toString();
  }
}
