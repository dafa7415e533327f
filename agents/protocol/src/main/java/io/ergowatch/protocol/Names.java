package io.ergowatch.protocol;

import java.nio.charset.StandardCharsets;

/**
 * The naming rules of EWP/1. Each check throws a {@link FrameException} whose message names
 * the field and quotes the offending value (truncated, control characters escaped).
 */
public final class Names {
  public static final int MAX_RUN = 128;
  public static final int MAX_JOB = 128;
  public static final int MAX_TOKEN_BYTES = 256;
  public static final int MAX_SERIES_NAME = 64;
  public static final int MAX_LABEL_KEY = 64;
  public static final int MAX_LABEL_VALUE_BYTES = 256;

  private Names() {}

  public static void checkRun(String run) {
    checkIdentifier("run", run, 1, MAX_RUN);
  }

  public static void checkJob(String job) {
    checkIdentifier("job", job, 0, MAX_JOB);
  }

  public static void checkToken(String token) {
    int bytes = token.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_TOKEN_BYTES) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED,
          "token is " + bytes + " bytes, at most " + MAX_TOKEN_BYTES + " allowed");
    }
  }

  /** A series name: 1..64 chars of [a-z0-9_.]. */
  public static void checkSeries(String name) {
    int n = name.length();
    boolean ok = n >= 1 && n <= MAX_SERIES_NAME;
    for (int i = 0; ok && i < n; i++) {
      char c = name.charAt(i);
      ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    }
    if (!ok) {
      throw new FrameException(ErrorCode.INVALID_NAME,
          "series name " + quote(name) + " must be 1.." + MAX_SERIES_NAME + " chars of [a-z0-9_.]");
    }
  }

  /** A label key: [a-z_][a-z0-9_]{0,63}. */
  public static void checkLabelKey(String key) {
    int n = key.length();
    boolean ok = n >= 1 && n <= MAX_LABEL_KEY;
    for (int i = 0; ok && i < n; i++) {
      char c = key.charAt(i);
      ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    }
    if (!ok) {
      throw new FrameException(ErrorCode.INVALID_NAME,
          "label key " + quote(key) + " must match [a-z_][a-z0-9_]{0,63}");
    }
  }

  public static void checkLabelValue(String key, String value) {
    int bytes = value.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_LABEL_VALUE_BYTES) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED,
          "label " + key + " value is " + bytes + " bytes, at most " + MAX_LABEL_VALUE_BYTES + " allowed");
    }
  }

  /** run and job: [A-Za-z0-9._:-], length within [min, max]. */
  private static void checkIdentifier(String field, String value, int min, int max) {
    int n = value.length();
    boolean ok = n >= min && n <= max;
    for (int i = 0; ok && i < n; i++) {
      char c = value.charAt(i);
      ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '_' || c == ':' || c == '-';
    }
    if (!ok) {
      throw new FrameException(ErrorCode.INVALID_NAME,
          field + " " + quote(value) + " must be " + min + ".." + max + " chars of [A-Za-z0-9._:-]");
    }
  }

  /**
   * Quotes a client-supplied value for an error message: at most 80 chars (never half of a
   * surrogate pair), control characters (C0, DEL and C1) escaped.
   */
  public static String quote(String value) {
    StringBuilder sb = new StringBuilder(Math.min(value.length(), 80) + 8).append('"');
    int limit = Math.min(value.length(), 80);
    if (limit < value.length() && Character.isHighSurrogate(value.charAt(limit - 1))) {
      limit--;
    }
    for (int i = 0; i < limit; i++) {
      char c = value.charAt(i);
      if (Character.isISOControl(c) || c == '"' || c == '\\') {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    if (value.length() > limit) {
      sb.append("...");
    }
    return sb.append('"').toString();
  }
}
