package io.ergowatch.monitor.dashboards;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

class ExternalToolTest {
  @Test
  void aMissingToolSkipsLocallyAndFailsUnderCi() {
    String expected = "/nonexistent/ergowatch-tool is missing: install Debian's some-package"
        + " (apt-get install -y some-package; .ci/run does)";
    if (System.getenv("CI") != null) {
      assertThatThrownBy(() -> ExternalTool.require("/nonexistent/ergowatch-tool", "some-package"))
          .isInstanceOf(AssertionFailedError.class)
          .hasMessage("CI is set, so this test must not be skipped: " + expected);
    } else {
      assertThatThrownBy(() -> ExternalTool.require("/nonexistent/ergowatch-tool", "some-package"))
          .isInstanceOf(TestAbortedException.class)
          .hasMessage(expected);
    }
  }

  @Test
  void runsACommandAndKeepsItsStreamsApart() {
    ExternalTool.Result r = ExternalTool.run(Duration.ofSeconds(10), Path.of("."),
        List.of("sh", "-c", "echo out; echo err >&2; exit 3"));
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.stdout()).isEqualTo("out\n");
    assertThat(r.stderr()).isEqualTo("err\n");
  }

  @Test
  void killsACommandPastItsTimeout() {
    assertThatThrownBy(() -> ExternalTool.run(Duration.ofMillis(200), Path.of("."), List.of("sleep", "30")))
        .isInstanceOf(AssertionFailedError.class)
        .hasMessageStartingWith("sleep 30 did not finish within PT0.2S");
  }
}
