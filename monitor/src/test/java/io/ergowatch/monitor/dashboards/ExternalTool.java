package io.ergowatch.monitor.dashboards;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Debian binaries that the dashboard tests drive (prometheus, promtool, amtool, chromium). A
 * missing one skips the test locally with the install command, and fails it when the
 * environment variable CI is set, so CI can never pass by skipping.
 */
final class ExternalTool {
  private ExternalTool() {}

  /** The binary at {@code path}, or an aborted (locally) or failed (CI) test. */
  static Path require(String path, String debianPackage) {
    Path p = Path.of(path);
    if (Files.isExecutable(p)) {
      return p;
    }
    String message = path + " is missing: install Debian's " + debianPackage + " (apt-get install -y "
        + debianPackage + "; .ci/run does)";
    if (System.getenv("CI") != null) {
      return fail("CI is set, so this test must not be skipped: " + message);
    }
    return Assumptions.abort(message);
  }

  /** A finished command: its exit code, its stdout and its stderr. */
  record Result(int exitCode, String stdout, String stderr) {
    /** Both streams, for failure messages. */
    String output() {
      return stdout + stderr;
    }
  }

  /** Runs a command to completion within {@code timeout} (killed and failed past it). */
  static Result run(Duration timeout, Path workDir, List<String> command) {
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("ergowatch-tool", ".out");
      err = Files.createTempFile("ergowatch-tool", ".err");
      Process p = new ProcessBuilder(command).directory(workDir.toFile())
          .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        return fail(String.join(" ", command) + " did not finish within " + timeout + ":\n"
            + Files.readString(out, StandardCharsets.UTF_8) + Files.readString(err, StandardCharsets.UTF_8));
      }
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } catch (IOException e) {
      return fail("cannot run " + String.join(" ", command) + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail("interrupted running " + String.join(" ", command));
    } finally {
      delete(out);
      delete(err);
    }
  }

  /**
   * Headless Chromium (Debian's) on {@code url}, with a throwaway profile in {@code dir}, a window
   * of {@code windowSize} ("1280,900") and a virtual time budget of 5 s for the page's scripts;
   * {@code mode} says what it does ({@code --dump-dom}, {@code --screenshot=FILE}, extra flags).
   */
  static Result chromium(Path dir, Duration timeout, String windowSize, String url, String... mode) {
    Path chromium = require("/usr/bin/chromium", "chromium");
    List<String> cmd = new java.util.ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox",
        "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=" + dir.resolve("chromium-profile"),
        "--window-size=" + windowSize, "--virtual-time-budget=5000"));
    cmd.addAll(List.of(mode));
    cmd.add(url);
    return run(timeout, dir, cmd);
  }

  private static void delete(Path p) {
    if (p != null) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // a temp file left behind is harmless
      }
    }
  }
}
