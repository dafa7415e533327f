package io.ergowatch.monitor.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** Reads the shared golden vectors (agents/protocol/golden/*.hex, format in its README). */
public final class GoldenVectors {
  public static final Path DIR = Path.of("..", "agents", "protocol", "golden");

  /** One vector file. */
  public record Vector(String name, String frame, String expect, long maxFrame, byte[] bytes) {
    public boolean ok() {
      return expect.equals("ok");
    }

    /** The expected error code name, e.g. BAD_FRAME. */
    public String error() {
      return expect.replaceFirst("^error\\s+", "");
    }
  }

  public static List<Vector> all() {
    try (Stream<Path> files = Files.list(DIR)) {
      List<Vector> vs = files.filter(p -> p.toString().endsWith(".hex")).sorted().map(GoldenVectors::read)
          .collect(Collectors.toList());
      if (vs.isEmpty()) {
        throw new IllegalStateException("no golden vectors in " + DIR.toAbsolutePath());
      }
      return vs;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Vector named(String name) {
    return all().stream().filter(v -> v.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no golden vector " + name));
  }

  private static Vector read(Path p) {
    try {
      String frame = "";
      String expect = "";
      long maxFrame = 1 << 20;
      StringBuilder hex = new StringBuilder();
      for (String line : Files.readAllLines(p)) {
        String l = line.trim();
        if (l.startsWith("# frame:")) {
          frame = l.substring(8).trim();
        } else if (l.startsWith("# expect:")) {
          expect = l.substring(9).trim();
        } else if (l.startsWith("# max_frame:")) {
          maxFrame = Long.parseLong(l.substring(12).trim());
        } else if (!l.startsWith("#")) {
          hex.append(l.replace(" ", ""));
        }
      }
      String name = p.getFileName().toString().replaceFirst("\\.hex$", "");
      return new Vector(name, frame, expect, maxFrame, HexFormat.of().parseHex(hex));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
