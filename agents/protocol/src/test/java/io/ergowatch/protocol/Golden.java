package io.ergowatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads the golden byte vectors in {@code golden/} (format: golden/README.md). Maven runs the
 * tests with the module as working directory, so the folder is {@code Path.of("golden")}; a
 * missing or empty folder fails the test instead of silently running nothing.
 */
final class Golden {
  static final Path DIR = Path.of("golden");

  private static final Pattern HEX_LINE = Pattern.compile("[0-9a-f]{2}( [0-9a-f]{2})*");
  private static final List<String> HEADER = List.of("frame", "expect", "max_frame", "what");

  /** One golden file: its header and the bytes of its frame, length prefix included. */
  record Vector(String name, String frame, String expect, long maxFrame, String what, String message, byte[] bytes) {

    boolean ok() {
      return expect.equals("ok");
    }

    /** The ERROR code an error case names, e.g. BAD_FRAME for {@code error BAD_FRAME}. */
    Optional<ErrorCode> expectedError() {
      return ok() ? Optional.empty() : Optional.of(ErrorCode.valueOf(expect.substring("error ".length())));
    }

    /** The u32 length prefix. */
    long lengthPrefix() {
      return ByteBuffer.wrap(bytes, 0, 4).getInt() & 0xFFFF_FFFFL;
    }

    ByteBuffer buffer() {
      return ByteBuffer.wrap(bytes.clone());
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private Golden() {}

  /** Every {@code *.hex} file, sorted by name; fails when the folder is missing or empty. */
  static List<Vector> all() {
    assertThat(DIR)
        .as("golden vector folder %s (working directory %s)", DIR, Path.of("").toAbsolutePath())
        .isDirectory();
    List<Path> files;
    try (Stream<Path> list = Files.list(DIR)) {
      files = list.filter(p -> p.getFileName().toString().endsWith(".hex")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    assertThat(files).as("*.hex files in %s", DIR.toAbsolutePath()).isNotEmpty();
    return files.stream().map(Golden::parse).toList();
  }

  /** The vector {@code golden/<name>.hex}. */
  static Vector load(String name) {
    Path file = DIR.resolve(name + ".hex");
    assertThat(file).as("golden vector %s", file.toAbsolutePath()).isRegularFile();
    return parse(file);
  }

  static Vector parse(Path file) {
    String fileName = file.getFileName().toString();
    String name = fileName.substring(0, fileName.length() - ".hex".length());
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> header = new ArrayList<>();
    StringBuilder hex = new StringBuilder();
    for (String raw : lines) {
      String line = raw.strip();
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("#")) {
        header.add(line);
        continue;
      }
      assertThat(line).as("%s: hex line", fileName).matches(HEX_LINE);
      hex.append(hex.length() == 0 ? "" : " ").append(line);
    }
    assertThat(header).as("%s: header lines", fileName).hasSizeGreaterThanOrEqualTo(HEADER.size());
    String[] values = new String[HEADER.size()];
    for (int i = 0; i < HEADER.size(); i++) {
      String prefix = "# " + HEADER.get(i) + ":";
      assertThat(header.get(i)).as("%s: header line %d", fileName, i + 1).startsWith(prefix);
      values[i] = header.get(i).substring(prefix.length()).strip();
    }
    assertThat(values[0]).as("%s: frame", fileName)
        .matches("HELLO|STEP|HEARTBEAT|BYE|WELCOME|ACK|ERROR|none");
    assertThat(values[1]).as("%s: expect", fileName)
        .matches("ok|error (BAD_FRAME|UNSUPPORTED_VERSION|INVALID_NAME|LIMIT_EXCEEDED)");
    // Malformed vectors pin the exact message too (fifth header line): every decoder, in every
    // language, must say the same thing about the same bytes.
    String message = null;
    if (!values[1].equals("ok")) {
      assertThat(header).as("%s: header lines", fileName).hasSizeGreaterThan(HEADER.size());
      String prefix = "# message:";
      assertThat(header.get(HEADER.size())).as("%s: header line %d", fileName, HEADER.size() + 1).startsWith(prefix);
      message = header.get(HEADER.size()).substring(prefix.length()).strip();
      assertThat(message).as("%s: message", fileName).isNotBlank();
    }
    return new Vector(name, values[0], values[1], Long.parseLong(values[2]), values[3], message,
        Hex.decode(hex.toString()));
  }
}
