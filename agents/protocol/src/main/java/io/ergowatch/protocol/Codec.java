package io.ergowatch.protocol;

import java.nio.charset.StandardCharsets;

/** Limits and small helpers shared by the encoder and the decoder. */
public final class Codec {
  /** The default max_frame: 1 MiB of type + payload. */
  public static final int DEFAULT_MAX_FRAME = 1 << 20;
  /** Bytes of the length prefix. */
  public static final int LENGTH_BYTES = 4;
  /** Bytes of one STEP value: u16 id + f64. */
  public static final int STEP_ENTRY_BYTES = 10;
  /** Bytes of a STEP before its values: type + seq + step + time + count. */
  public static final int STEP_HEADER_BYTES = 1 + 8 + 8 + 8 + 2;
  /**
   * The longest frame body the codec can hold, whatever max_frame says: a body is read into
   * one byte array. Without this bound a max_frame of 2^31 or more (WELCOME.max_frame is a u32)
   * turned a length prefix of 2^31 or more into a negative int.
   */
  private static final int MAX_BODY = Integer.MAX_VALUE - 8;

  private Codec() {}

  /**
   * Checks a frame's length prefix before any of its body is read.
   *
   * @return the length as an int
   */
  public static int checkLength(long length, long maxFrame) {
    if (length == 0) {
      throw new FrameException(ErrorCode.BAD_FRAME, "frame length 0 (a frame has at least its type byte)");
    }
    if (length > maxFrame) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED,
          "frame length " + length + " exceeds max_frame " + maxFrame);
    }
    if (length > MAX_BODY) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED,
          "frame length " + length + " exceeds " + MAX_BODY + ", the most one frame can hold in memory");
    }
    return (int) length;
  }

  static void checkStringLength(String field, String value) {
    int bytes = value.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > 0xFFFF) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED, field + " is " + bytes + " bytes, a string holds at most 65535");
    }
  }

  /** Cuts a message so that it fits an EWP string, on a character boundary. */
  static String fitString(String s) {
    if (s == null) {
      return "";
    }
    if (s.length() <= 16_000) {
      return s;
    }
    int cut = Character.isHighSurrogate(s.charAt(16_000 - 1)) ? 16_000 - 1 : 16_000;
    return s.substring(0, cut) + "...";
  }

  /** Bytes of a STEP frame with {@code count} values, length prefix included. */
  public static int stepFrameBytes(int count) {
    return LENGTH_BYTES + STEP_HEADER_BYTES + STEP_ENTRY_BYTES * count;
  }
}
