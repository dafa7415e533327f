package io.ergowatch.protocol;

import static io.ergowatch.protocol.FrameDecoderTest.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Frames are valid by construction (Frame's contract): the constructors refuse what the
 * decoder refuses, with the same messages, so the encoder never puts an invalid frame on the
 * wire. Also their immutability, and what they reveal in toString.
 */
class FrameValidationTest {

  private static Hello hello(String run, String token, int rank, int world, List<String> series, List<Label> labels) {
    return new Hello(run, "", token, 1, rank, world, Mode.REPLICATED, series, labels);
  }

  @Test
  void helloConstructorRefusesWhatTheDecoderRefuses() {
    assertRejected(() -> hello("a/b", "", 0, 1, List.of(), List.of()), ErrorCode.INVALID_NAME,
        "run \"a/b\" must be 1..128 chars of [A-Za-z0-9._:-]");
    assertRejected(() -> hello("r1", "t".repeat(257), 0, 1, List.of(), List.of()), ErrorCode.LIMIT_EXCEEDED,
        "token is 257 bytes, at most 256 allowed");
    assertRejected(() -> hello("r1", "", 0, 0, List.of(), List.of()), ErrorCode.BAD_FRAME, "world must be >= 1, got 0");
    assertRejected(() -> hello("r1", "", 4, 4, List.of(), List.of()), ErrorCode.BAD_FRAME, "rank 4 must be < world 4");
    assertRejected(() -> hello("r1", "", -1, 4, List.of(), List.of()), ErrorCode.BAD_FRAME,
        "rank 4294967295 must be < world 4");
    assertRejected(() -> hello("r1", "", 0, 1, List.of("loss", "loss"), List.of()), ErrorCode.INVALID_NAME,
        "duplicate series name \"loss\"");
    assertRejected(() -> hello("r1", "", 0, 1, List.of("Loss"), List.of()), ErrorCode.INVALID_NAME,
        "series name \"Loss\" must be 1..64 chars of [a-z0-9_.]");
    assertRejected(() -> hello("r1", "", 0, 1, List.of(), List.of(new Label("k", "a"), new Label("k", "b"))),
        ErrorCode.INVALID_NAME, "duplicate label key \"k\"");
    assertThatThrownBy(() -> new Hello("r1", "", "", 1, 0, 1, null, List.of(), List.of()))
        .isInstanceOf(NullPointerException.class).hasMessage("mode");
  }

  @Test
  void labelConstructorChecksKeyAndValue() {
    assertRejected(() -> new Label("Optimizer", "sgd"), ErrorCode.INVALID_NAME,
        "label key \"Optimizer\" must match [a-z_][a-z0-9_]{0,63}");
    assertRejected(() -> new Label("note", "v".repeat(257)), ErrorCode.LIMIT_EXCEEDED,
        "label note value is 257 bytes, at most 256 allowed");
  }

  @Test
  void helloCopiesItsLists() {
    List<String> series = new ArrayList<>(List.of("loss"));
    List<Label> labels = new ArrayList<>(List.of(new Label("k", "v")));
    Hello hello = hello("r1", "", 0, 1, series, labels);

    series.add("lr");
    labels.clear();

    assertThat(hello.series()).containsExactly("loss");
    assertThat(hello.labels()).containsExactly(new Label("k", "v"));
    assertThatThrownBy(() -> hello.series().add("x")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void helloToStringDoesNotContainTheToken() {
    Hello hello = new Hello("resnet-lr0.1", "sweep-7", "s3cret-TOKEN", 0xfedcba9876543210L, 1, 4, Mode.SHARDED,
        List.of("loss"), List.of(new Label("optimizer", "sgd")));

    assertThat(hello.toString())
        .doesNotContain("s3cret-TOKEN")
        .doesNotContain("s3cret")
        .contains("resnet-lr0.1", "sweep-7", "fedcba9876543210", "rank=1/4", "SHARDED", "optimizer");
  }

  @Test
  void stepOfCopiesItsArrays() {
    int[] ids = {0, 1};
    double[] values = {0.5, 1.5};
    Step step = Step.of(1, 2, 3, ids, values);

    ids[0] = 9;
    values[1] = Double.NaN;

    assertThat(step.seriesId(0)).isEqualTo(0);
    assertThat(step.value(1)).isEqualTo(1.5);
    assertThat(step).isEqualTo(Step.of(1, 2, 3, new int[] {0, 1}, new double[] {0.5, 1.5}));
  }

  @Test
  void stepOfRefusesWhatTheDecoderRefuses() {
    double[] one = {1.0};
    assertRejected(() -> Step.of(0, 0, 0, new int[] {0}, one), ErrorCode.BAD_FRAME, "seq must be >= 1, got 0");
    assertRejected(() -> Step.of(1, -1, 0, new int[] {0}, one), ErrorCode.BAD_FRAME,
        "step 18446744073709551615 exceeds 2^63-1");
    assertRejected(() -> Step.of(1, 0, 0, new int[] {3, 3}, new double[2]), ErrorCode.BAD_FRAME,
        "series id 3 appears twice in one STEP");
    assertRejected(() -> Step.of(1, 0, 0, new int[] {-1}, one), ErrorCode.BAD_FRAME, "series id -1 outside u16");
    assertRejected(() -> Step.of(1, 0, 0, new int[] {65536}, one), ErrorCode.BAD_FRAME, "series id 65536 outside u16");
    int[] all = java.util.stream.IntStream.rangeClosed(0, 0xFFFF).toArray();
    assertRejected(() -> Step.of(1, 0, 0, all, new double[all.length]), ErrorCode.LIMIT_EXCEEDED,
        "at most 65535 values per STEP");
  }

  @Test
  void stepOfRefusesArraysOfDifferentLengthsAsAProgrammingError() {
    assertThatThrownBy(() -> Step.of(1, 0, 0, new int[] {0, 1}, new double[] {1.0}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ids and values differ in length: 2 vs 1");
  }

  @Test
  void stepOfAcceptsIdsAgainAfterARefusal() {
    assertRejected(() -> Step.of(1, 0, 0, new int[] {7, 8, 7}, new double[3]), ErrorCode.BAD_FRAME,
        "series id 7 appears twice in one STEP");
    assertThat(Step.of(1, 0, 0, new int[] {7, 8}, new double[2]).count()).isEqualTo(2);
  }

  @Test
  void stepEqualityComparesValuesBitwiseSoNanEqualsNanButMinusZeroIsNotZero() {
    Step nan = Step.of(1, 0, 0, new int[] {0}, new double[] {Double.NaN});
    assertThat(nan).isEqualTo(Step.of(1, 0, 0, new int[] {0}, new double[] {Double.NaN}));
    assertThat(nan).hasSameHashCodeAs(Step.of(1, 0, 0, new int[] {0}, new double[] {Double.NaN}));
    assertThat(Step.of(1, 0, 0, new int[] {0}, new double[] {-0.0}))
        .isNotEqualTo(Step.of(1, 0, 0, new int[] {0}, new double[] {0.0}));
    assertThat(Step.of(1, 0, 0, new int[] {0, 1}, new double[2]))
        .as("order of entries is part of the frame")
        .isNotEqualTo(Step.of(1, 0, 0, new int[] {1, 0}, new double[2]));
  }

  @Test
  void monitorFramesRefuseValuesTheirFieldsCannotHold() {
    assertRejected(() -> new Welcome(0, 0), ErrorCode.BAD_FRAME, "max_frame 0 outside 1..2^32-1");
    assertRejected(() -> new Welcome(0, 1L << 32), ErrorCode.BAD_FRAME, "max_frame 4294967296 outside 1..2^32-1");
    assertRejected(() -> new Welcome(-1, 1), ErrorCode.BAD_FRAME, "acked_seq 18446744073709551615 exceeds 2^63-1");
    assertRejected(() -> new Ack(-1), ErrorCode.BAD_FRAME, "acked_seq 18446744073709551615 exceeds 2^63-1");
    assertRejected(() -> new Bye(Bye.Status.FAILED, "m".repeat(65_536)), ErrorCode.LIMIT_EXCEEDED,
        "message is 65536 bytes, a string holds at most 65535");
    assertRejected(() -> new ErrorFrame(ErrorCode.INTERNAL, "\u00e9".repeat(32_768)), ErrorCode.LIMIT_EXCEEDED,
        "message is 65536 bytes, a string holds at most 65535");
  }

  @Test
  void errorFrameOfAnExceptionCarriesItsReasonAndMessage() {
    FrameException e = new FrameException(ErrorCode.INVALID_NAME, "run \"a/b\" must be 1..128 chars of [A-Za-z0-9._:-]");

    assertThat(ErrorFrame.of(e)).isEqualTo(new ErrorFrame(ErrorCode.INVALID_NAME, e.getMessage()));
  }

  @Test
  void errorFrameOfAHugeMessageCutsItToFitAString() {
    ErrorFrame error = ErrorFrame.of(new FrameException(ErrorCode.BAD_FRAME, "\u20ac".repeat(30_000)));

    // Compared through lengths and ends, so a failure does not print 16,000 characters.
    assertThat(error.message().length()).isEqualTo(16_003);
    assertThat(error.message().chars().limit(16_000).allMatch(c -> c == '\u20ac')).isTrue();
    assertThat(error.message()).endsWith("\u20ac...");
    assertThat(roundTrips(error)).as("decode(encode(error)) equals error").isTrue();
  }

  @Test
  void errorFrameOfAHugeMessageNeverCutsASurrogatePairInHalf() {
    // "x" then smileys: char 15999 is the high half of a pair, a lone surrogate if cut there,
    // which UTF-8 cannot carry (the encoder would write '?').
    String smiley = "\uD83D\uDE00";
    ErrorFrame error = ErrorFrame.of(new FrameException(ErrorCode.BAD_FRAME, "x" + smiley.repeat(10_000)));

    assertThat(error.message().length()).isEqualTo(1 + 2 * 7_999 + 3);
    assertThat(error.message()).endsWith(smiley + "...");
    assertThat(roundTrips(error)).as("decode(encode(error)) equals error").isTrue();
  }

  private static boolean roundTrips(Frame frame) {
    byte[] bytes = FrameEncoder.encode(frame);
    return new FrameDecoder().decodeWithLength(ByteBuffer.wrap(bytes), Codec.DEFAULT_MAX_FRAME).equals(frame);
  }

  @Test
  void frameExceptionNamesItsReasonAndCarriesNoStackTrace() {
    FrameException e = new FrameException(ErrorCode.BAD_FRAME, "unknown frame type 0x05");

    assertThat(e).hasToString("BAD_FRAME: unknown frame type 0x05");
    assertThat(e.getStackTrace()).isEmpty();
    assertThatThrownBy(() -> new FrameException(null, "x")).isInstanceOf(NullPointerException.class);
  }

  @Test
  void wireCodesAreThoseOfTheSpec() {
    // protocol.md: frame types and ERROR codes.
    assertThat(Map.of(
        FrameType.HELLO, 0x01, FrameType.STEP, 0x02, FrameType.HEARTBEAT, 0x03, FrameType.BYE, 0x04,
        FrameType.WELCOME, 0x81, FrameType.ACK, 0x82, FrameType.ERROR, 0x83))
        .allSatisfy((t, wire) -> {
          assertThat(t.wire()).as(t.name()).isEqualTo(wire);
          assertThat(FrameType.fromWire(wire)).isEqualTo(t);
        });
    assertThat(ErrorCode.values()).extracting(ErrorCode::wire).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    assertThat(ErrorCode.values()).extracting(ErrorCode::name).containsExactly("BAD_FRAME", "UNSUPPORTED_VERSION",
        "UNAUTHORIZED", "INVALID_NAME", "LIMIT_EXCEEDED", "PROTOCOL_ORDER", "OVERLOADED", "INTERNAL");
    for (ErrorCode c : ErrorCode.values()) {
      assertThat(ErrorCode.fromWire(c.wire())).isEqualTo(c);
    }
    assertThat(ErrorCode.LIMIT_EXCEEDED.label()).isEqualTo("limit_exceeded");
    assertThat(FrameType.HEARTBEAT.label()).isEqualTo("heartbeat");
    assertThat(Mode.values()).extracting(Mode::wire).containsExactly(0, 1);
    assertThat(Bye.Status.values()).extracting(Bye.Status::wire).containsExactly(0, 1, 2);
    assertThat(Bye.Status.CANCELLED.label()).isEqualTo("cancelled");
  }
}
