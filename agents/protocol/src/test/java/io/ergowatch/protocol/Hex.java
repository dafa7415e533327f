package io.ergowatch.protocol;

import java.util.HexFormat;

/** Hex helpers for test data and failure messages. */
final class Hex {
  private static final HexFormat SPACED = HexFormat.ofDelimiter(" ");

  private Hex() {}

  /** Decodes "00 0a ff" (single spaces between pairs). */
  static byte[] decode(String spaced) {
    return spaced.isEmpty() ? new byte[0] : SPACED.parseHex(spaced);
  }

  static String encode(byte[] bytes) {
    return SPACED.formatHex(bytes);
  }
}
