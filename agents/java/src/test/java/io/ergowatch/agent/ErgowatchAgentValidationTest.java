package io.ergowatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ergowatch.protocol.Bye;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every setting and every record() argument is checked at the boundary, with a precise message. */
class ErgowatchAgentValidationTest {
  private ErgowatchAgent agent;

  @AfterEach
  void closeAgent() {
    if (agent != null) {
      agent.close();
    }
  }

  private static ErgowatchAgent.Builder builder() {
    return ErgowatchAgent.builder();
  }

  private ErgowatchAgent agentWithoutMonitor() throws IOException {
    agent = ErgowatchAgent.builder()
        .address("127.0.0.1:" + FakeMonitor.closedPort())
        .run("validation").series("loss", "grad_sq", "lr")
        .closeTimeout(Duration.ofMillis(50))
        .build();
    return agent;
  }

  @Test
  void rejectsAnAddressWithoutHostOrPort() {
    assertThatThrownBy(() -> builder().address("localhost"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("address \"localhost\" must be host:port, e.g. localhost:7479");
    assertThatThrownBy(() -> builder().address(":7479"))
        .hasMessage("address \":7479\" must be host:port, e.g. localhost:7479");
    assertThatThrownBy(() -> builder().address("localhost:http"))
        .hasMessage("address \"localhost:http\" must be host:port, e.g. localhost:7479");
    assertThatThrownBy(() -> builder().address("::1:7479"))
        .hasMessage("address \"::1:7479\" must be host:port, e.g. localhost:7479");
  }

  @Test
  void rejectsAPortOutsideItsRange() {
    assertThatThrownBy(() -> builder().address("localhost:0"))
        .hasMessage("address \"localhost:0\" has port 0, must be 1..65535");
    assertThatThrownBy(() -> builder().address("localhost:65536"))
        .hasMessage("address \"localhost:65536\" has port 65536, must be 1..65535");
  }

  @Test
  void acceptsBracketedIpv6Addresses() {
    assertThat(builder().address("[::1]:7479")).isNotNull();
  }

  @Test
  void rejectsBadNamesWithTheProtocolsMessages() {
    assertThatThrownBy(() -> builder().run("resnet lr=0.1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("run \"resnet lr=0.1\" must be 1..128 chars of [A-Za-z0-9._:-]");
    assertThatThrownBy(() -> builder().run(""))
        .hasMessage("run \"\" must be 1..128 chars of [A-Za-z0-9._:-]");
    assertThatThrownBy(() -> builder().job("sweep/7"))
        .hasMessage("job \"sweep/7\" must be 0..128 chars of [A-Za-z0-9._:-]");
    assertThatThrownBy(() -> builder().series("loss", "Grad_Sq"))
        .hasMessage("series name \"Grad_Sq\" must be 1..64 chars of [a-z0-9_.]");
    assertThatThrownBy(() -> builder().label("Optimizer", "sgd"))
        .hasMessage("label key \"Optimizer\" must match [a-z_][a-z0-9_]{0,63}");
    assertThatThrownBy(() -> builder().label("note", "x".repeat(257)))
        .hasMessage("label note value is 257 bytes, at most 256 allowed");
    assertThatThrownBy(() -> builder().token("t".repeat(300)))
        .hasMessage("token is 300 bytes, at most 256 allowed");
  }

  @Test
  void rejectsDuplicatesAndTheReservedSeries() {
    assertThatThrownBy(() -> builder().series("loss", "lr", "loss"))
        .hasMessage("duplicate series name \"loss\"");
    assertThatThrownBy(() -> builder().series("loss").series("agent_dropped"))
        .hasMessage("series \"agent_dropped\" is reserved: the agent declares it and fills it with its drop count");
    assertThatThrownBy(() -> builder().label("optimizer", "sgd").label("optimizer", "adam"))
        .hasMessage("duplicate label key \"optimizer\"");
  }

  @Test
  void rejectsRankOutsideWorld() {
    assertThatThrownBy(() -> builder().rank(0, 0)).hasMessage("world must be >= 1, got 0");
    assertThatThrownBy(() -> builder().rank(4, 4)).hasMessage("rank 4 must be within 0..3 (world 4)");
    assertThatThrownBy(() -> builder().rank(-1, 4)).hasMessage("rank -1 must be within 0..3 (world 4)");
  }

  @Test
  void rejectsNonPositiveSizesAndDurations() {
    assertThatThrownBy(() -> builder().bufferCapacity(0)).hasMessage("bufferCapacity must be >= 1, got 0");
    assertThatThrownBy(() -> builder().maxInFlight(-5)).hasMessage("maxInFlight must be >= 1, got -5");
    assertThatThrownBy(() -> builder().batchMaxRecords(0)).hasMessage("batchMaxRecords must be >= 1, got 0");
    assertThatThrownBy(() -> builder().heartbeatInterval(Duration.ZERO))
        .hasMessage("heartbeatInterval must be > 0, got PT0S");
    assertThatThrownBy(() -> builder().flushInterval(Duration.ofMillis(-1)))
        .hasMessage("flushInterval must be > 0, got PT-0.001S");
    assertThatThrownBy(() -> builder().closeTimeout(Duration.ofDays(2)))
        .hasMessage("closeTimeout must be at most 1 day, got PT48H");
    assertThatThrownBy(() -> builder().reconnectBackoff(Duration.ofSeconds(1), Duration.ofMillis(100)))
        .hasMessage("reconnectBackoff max PT0.1S must be >= initial PT1S");
    assertThatThrownBy(() -> builder().reconnectBackoff(Duration.ZERO, Duration.ofMillis(100)))
        .hasMessage("reconnectBackoff initial must be > 0, got PT0S");
  }

  @Test
  void buildRequiresARunAndSeries() {
    assertThatThrownBy(() -> builder().series("loss").build()).hasMessage("run is required");
    assertThatThrownBy(() -> builder().run("r").build()).hasMessage("at least one series is required");
  }

  @Test
  void buildRejectsAHelloLargerThanMaxFrame() {
    ErgowatchAgent.Builder b = builder().run("big");
    // HELLO body (protocol.md): type 1, magic 4, version 2, run 2+3, job 2, token 2, session 8,
    // rank 4, world 4, mode 1, n_series 2, each series 2+len, agent_dropped 2+13, n_labels 2.
    long bytes = 1 + 4 + 2 + 5 + 2 + 2 + 8 + 4 + 4 + 1 + 2 + 15 + 2;
    for (int i = 0; i < 40_000; i++) {
      String name = "series_with_a_long_enough_name_" + i;
      b.series(name);
      bytes += 2 + name.length();
    }
    assertThatThrownBy(b::build).hasMessage("HELLO would be " + bytes
        + " bytes, more than max_frame 1048576: declare fewer series or labels");
  }

  @Test
  void buildRejectsABufferTooLargeForAnArray() {
    ErgowatchAgent.Builder b = builder().run("huge").bufferCapacity(100_000_000);
    for (int i = 0; i < 30; i++) {
      b.series("s" + i);
    }
    assertThatThrownBy(b::build)
        .hasMessage("bufferCapacity 100000000 with 30 series does not fit in memory arrays: lower bufferCapacity");
  }

  @Test
  void recordRejectsTheWrongNumberOfValuesAndNegativeSteps() throws IOException {
    ErgowatchAgent a = agentWithoutMonitor();
    assertThatThrownBy(() -> a.record(0, 1.0, 2.0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("expected 3 values [loss, grad_sq, lr], got 2");
    assertThatThrownBy(() -> a.record(-1, 1.0, 2.0, 3.0)).hasMessage("step must be >= 0, got -1");
    assertThat(a.recordedCount()).isZero();
  }

  @Test
  void sparseRecordRejectsUnknownRepeatedAndMiscountedIds() throws IOException {
    ErgowatchAgent a = agentWithoutMonitor();
    double[] v = {1, 2, 3};
    assertThatThrownBy(() -> a.record(0, new int[] {0, 3}, v, 2))
        .hasMessage("series id 3 is not a declared series (ids 0..2)");
    assertThatThrownBy(() -> a.record(0, new int[] {-1}, v, 1))
        .hasMessage("series id -1 is not a declared series (ids 0..2)");
    assertThatThrownBy(() -> a.record(0, new int[] {2, 0, 2}, v, 3))
        .hasMessage("series id 2 (lr) appears twice");
    assertThatThrownBy(() -> a.record(0, new int[] {0, 1}, v, 3))
        .hasMessage("count 3 must be within 0..2 (ids: 2, values: 3)");
    assertThatThrownBy(() -> a.record(0, new int[] {0}, v, -1))
        .hasMessage("count -1 must be within 0..1 (ids: 1, values: 3)");
    // A rejected call leaves nothing behind: the same ids are fine afterwards.
    a.record(0, new int[] {2, 0}, v, 2);
    assertThat(a.recordedCount()).isEqualTo(1);
  }

  @Test
  void seriesIdNamesTheDeclaredSeries() throws IOException {
    ErgowatchAgent a = agentWithoutMonitor();
    assertThat(a.seriesId("loss")).isZero();
    assertThat(a.seriesId("lr")).isEqualTo(2);
    assertThatThrownBy(() -> a.seriesId("acc"))
        .hasMessage("unknown series \"acc\"; declared: [loss, grad_sq, lr]");
    assertThatThrownBy(() -> a.seriesId("agent_dropped"))
        .hasMessage("series \"agent_dropped\" is filled by the agent, not by record()");
  }

  @Test
  void closeRejectsAByeMessageThatDoesNotFitAString() throws IOException {
    ErgowatchAgent a = agentWithoutMonitor();
    assertThatThrownBy(() -> a.close(Bye.Status.FAILED, "x".repeat(70_000)))
        .hasMessage("BYE message is 70000 bytes, a string holds at most 65535");
  }
}
