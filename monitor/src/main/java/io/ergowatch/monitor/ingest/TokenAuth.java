package io.ergowatch.monitor.ingest;

import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.FrameException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * Optional token authentication of HELLOs. The token file has one token per line, optionally
 * followed by the jobs it may write to: {@code <token> [job | prefix* | *]...} ({@code *} when
 * omitted); {@code #} starts a comment. Tokens are compared in constant time: every entry is
 * checked (no early exit) on SHA-256 digests, so neither the content nor the length of a valid
 * token leaks through timing.
 *
 * <pre>
 * # ops team: any job
 * 3f1c0a9e7b...   *
 * # sweep bot: only sweep-* jobs
 * 9d8e77aa01...   sweep-*
 * </pre>
 */
public final class TokenAuth {
  private final List<Entry> entries;

  private record Entry(byte[] digest, List<String> scopes) {}

  private TokenAuth(List<Entry> entries) {
    this.entries = entries;
  }

  /**
   * Reads a token file.
   *
   * @throws IllegalArgumentException for a missing, unreadable or empty file or a bad line; the
   *     message names the file and the line (the configuration layer adds the key)
   */
  public static TokenAuth load(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + " (" + e.getMessage() + ")");
    }
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).replaceFirst("#.*$", "").trim();
      if (line.isEmpty()) {
        continue;
      }
      String[] parts = line.split("\\s+");
      if (parts[0].length() < 16) {
        throw new IllegalArgumentException(file + " line " + (i + 1)
            + ": a token must be at least 16 characters");
      }
      List<String> scopes = parts.length == 1 ? List.of("*") : List.of(parts).subList(1, parts.length);
      entries.add(new Entry(digest(parts[0]), List.copyOf(scopes)));
    }
    if (entries.isEmpty()) {
      throw new IllegalArgumentException(file + " holds no token");
    }
    return new TokenAuth(List.copyOf(entries));
  }

  /**
   * @throws FrameException UNAUTHORIZED when the token is unknown or not allowed for the job
   */
  public void check(String token, String job) {
    byte[] d = digest(token);
    Entry match = null;
    for (Entry e : entries) {
      if (MessageDigest.isEqual(e.digest, d) & match == null) {
        match = e;
      }
    }
    if (match == null) {
      throw new FrameException(ErrorCode.UNAUTHORIZED,
          token.isEmpty() ? "this monitor requires a token (HELLO.token is empty)" : "token not recognised");
    }
    for (String scope : match.scopes) {
      if (scope.equals("*") || scope.equals(job) || scope.endsWith("*") && job.startsWith(scope.substring(0, scope.length() - 1))) {
        return;
      }
    }
    throw new FrameException(ErrorCode.UNAUTHORIZED, "token not allowed for job \"" + job + "\"");
  }

  private static byte[] digest(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
