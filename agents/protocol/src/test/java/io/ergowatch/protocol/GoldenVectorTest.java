package io.ergowatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The golden byte vectors (golden/README.md, hand-derived from protocol.md by another
 * engineer): every {@code ok} vector decodes, through both the buffer and the stream path,
 * and re-encodes byte for byte; every malformed vector is rejected by both paths with the
 * ERROR code and the exact message its header names (the Python decoder is held to the same
 * messages by agents/python/tests/test_protocol.py).
 */
class GoldenVectorTest {

  @TestFactory
  Stream<DynamicTest> everyVectorDecodesAsItsHeaderSays() {
    return Golden.all().stream().map(v -> dynamicTest(v.name() + " (" + v.expect() + ")", () -> check(v)));
  }

  private static void check(Golden.Vector v) throws IOException {
    if (!v.frame().equals("none")) {
      assertThat(v.bytes()).as("%s: bytes", v.name()).hasSizeGreaterThan(4);
      assertThat(v.bytes()[4] & 0xFF).as("%s: type byte of a %s vector", v.name(), v.frame())
          .isEqualTo(FrameType.valueOf(v.frame()).wire());
    }
    if (v.ok()) {
      checkOk(v);
    } else {
      checkRejected(v);
    }
  }

  private static void checkOk(Golden.Vector v) throws IOException {
    assertThat(v.lengthPrefix()).as("%s: length prefix", v.name()).isEqualTo(v.bytes().length - 4L);

    Frame frame = new FrameDecoder().decodeWithLength(v.buffer(), v.maxFrame());
    assertThat(frame.type()).as("%s: decoded type", v.name()).isEqualTo(FrameType.valueOf(v.frame()));
    assertSameBytes(FrameEncoder.encode(frame), v.bytes());
    assertThat(FrameEncoder.encodedLength(frame)).as("%s: encodedLength", v.name()).isEqualTo(v.bytes().length);

    // The stream path, fed one byte per read as a slow socket would.
    TrickleInputStream in = TrickleInputStream.oneByteAtATime(v.bytes());
    Frame streamed = new FrameDecoder().read(in, v.maxFrame());
    assertThat(streamed).as("%s: read(InputStream) agrees with decodeWithLength", v.name()).isEqualTo(frame);
    assertThat(in.consumed()).as("%s: bytes consumed by read", v.name()).isEqualTo(v.bytes().length);
  }

  private static void checkRejected(Golden.Vector v) {
    ErrorCode expected = v.expectedError().orElseThrow();

    FrameException viaBuffer = frameException(() -> new FrameDecoder().decodeWithLength(v.buffer(), v.maxFrame()));
    assertThat(viaBuffer.reason()).as("%s: reason (message: %s)", v.name(), viaBuffer.getMessage()).isEqualTo(expected);
    assertThat(viaBuffer.getMessage()).as("%s: message", v.name()).isEqualTo(v.message());

    TrickleInputStream in;
    int mayRead;
    if (v.lengthPrefix() > v.maxFrame()) {
      // Only the prefix may be read: the limit is answered before the body (protocol.md, Frame).
      in = TrickleInputStream.failingReadsPast(v.bytes(), 4);
      mayRead = 4;
    } else {
      // Every other malformed vector is a complete frame whose defect is inside it.
      assertThat(v.lengthPrefix()).as("%s: length prefix", v.name()).isEqualTo(v.bytes().length - 4L);
      in = TrickleInputStream.oneByteAtATime(v.bytes());
      mayRead = v.bytes().length;
    }
    FrameException viaStream = frameException(() -> new FrameDecoder().read(in, v.maxFrame()));
    assertThat(viaStream.reason()).as("%s: stream path reason (message: %s)", v.name(), viaStream.getMessage())
        .isEqualTo(expected);
    assertThat(viaStream.getMessage()).as("%s: stream path message", v.name()).isEqualTo(viaBuffer.getMessage());
    assertThat(in.consumed()).as("%s: bytes consumed by read", v.name()).isEqualTo(mayRead);
  }

  @Test
  void overMaxFrameIsAnsweredFromTheLengthPrefixAlone() throws IOException {
    Golden.Vector v = Golden.load("over-max-frame");
    assertThat(v.lengthPrefix()).isEqualTo(65);
    assertThat(v.maxFrame()).isEqualTo(64);
    assertThat(v.bytes()).hasSizeLessThan(4 + 65);

    TrickleInputStream in = TrickleInputStream.failingReadsPast(v.bytes(), 4);
    FrameException e = frameException(() -> new FrameDecoder().read(in, v.maxFrame()));

    assertThat(e.reason()).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
    assertThat(e).hasMessage("frame length 65 exceeds max_frame 64");
    assertThat(in.consumed()).isEqualTo(4);
  }

  @Test
  void oneDecoderDecodesEveryOkVectorWhateverFailedBeforeIt() {
    // Good frames after bad ones: the vectors in name order interleave ok and malformed.
    FrameDecoder decoder = new FrameDecoder();
    List<String> decoded = new ArrayList<>();
    for (Golden.Vector v : Golden.all()) {
      Throwable t = catchThrowable(() -> decoder.decodeWithLength(v.buffer(), v.maxFrame()));
      if (v.ok()) {
        assertThat(t).as("%s after earlier vectors on the same decoder", v.name()).isNull();
        decoded.add(v.name());
      } else {
        assertThat(t).as(v.name()).isInstanceOf(FrameException.class);
        assertThat(((FrameException) t).reason()).as(v.name()).isEqualTo(v.expectedError().orElseThrow());
      }
    }
    assertThat(decoded).isNotEmpty();
  }

  @Test
  void vectorsOnDiskMatchTheCaseListOfTheReadme() throws IOException {
    String readme = Files.readString(Golden.DIR.resolve("README.md"), StandardCharsets.UTF_8);
    Map<String, String> listed = new TreeMap<>();
    Matcher valid = Pattern.compile("Valid \\(`expect: ok`\\):\\s*([a-z0-9,\\s-]+)\\.").matcher(readme);
    assertThat(valid.find()).as("README lists the valid cases").isTrue();
    for (String name : valid.group(1).split(",")) {
      listed.put(name.strip(), "ok");
    }
    Matcher row = Pattern.compile("(?m)^\\| ([a-z0-9-]+)(?: \\([^)]*\\))? \\| ([A-Z_]+) \\|$").matcher(readme);
    while (row.find()) {
      listed.put(row.group(1), "error " + row.group(2));
    }

    Map<String, String> onDisk = Golden.all().stream()
        .collect(Collectors.toMap(Golden.Vector::name, Golden.Vector::expect, (a, b) -> a, TreeMap::new));

    assertThat(onDisk).isEqualTo(listed);
  }

  // --- decoded field values of named vectors ---------------------------------------------

  @Test
  void helloFullCarriesEveryField() {
    Hello hello = (Hello) decodeBothWays("hello-full");

    assertThat(hello.run()).isEqualTo("resnet-lr0.1");
    assertThat(hello.job()).isEqualTo("sweep-7");
    assertThat(hello.token()).isEqualTo("s3cret");
    assertThat(hello.session()).isEqualTo(0x0123456789abcdefL);
    assertThat(hello.rank()).isEqualTo(1);
    assertThat(hello.world()).isEqualTo(4);
    assertThat(hello.mode()).isEqualTo(Mode.SHARDED);
    assertThat(hello.series()).containsExactly("loss", "grad_sq", "lr", "proj.0");
    assertThat(hello.seriesId("lr")).isEqualTo(2);
    assertThat(hello.seriesId("val_loss")).isEqualTo(-1);
    assertThat(hello.labels()).containsExactly(new Label("optimizer", "sgd"), new Label("note", "caf\u00e9 \u2713"));

    Hello built = new Hello("resnet-lr0.1", "sweep-7", "s3cret", 0x0123456789abcdefL, 1, 4, Mode.SHARDED,
        List.of("loss", "grad_sq", "lr", "proj.0"),
        List.of(new Label("optimizer", "sgd"), new Label("note", "caf\u00e9 \u2713")));
    assertThat(hello).isEqualTo(built);
    assertSameBytes(FrameEncoder.encode(built), Golden.load("hello-full").bytes());
  }

  @Test
  void helloMinimalIsTheSmallestValidHello() {
    Hello built = new Hello("r1", "", "", 1, 0, 1, Mode.REPLICATED, List.of(), List.of());
    assertThat(decodeBothWays("hello-minimal")).isEqualTo(built);
    assertSameBytes(FrameEncoder.encode(built), Golden.load("hello-minimal").bytes());
  }

  @Test
  void helloSessionWithTheTopBitSetIsAnUnsignedU64() {
    Hello hello = (Hello) decodeBothWays("hello-session-high-bit");

    assertThat(hello.session()).isEqualTo(0xfedcba9876543210L);
    assertThat(Long.toUnsignedString(hello.session(), 16)).isEqualTo("fedcba9876543210");
  }

  @Test
  void helloLabelValueMayHoldAFourByteUtf8Character() {
    Hello hello = (Hello) decodeBothWays("hello-label-4byte-utf8");

    String value = hello.labels().get(0).value();
    assertThat(value).isEqualTo(new String(Character.toChars(0x1F600)));
    assertThat(value.codePointCount(0, value.length())).isEqualTo(1);
  }

  @Test
  void helloLimitsMaxHoldsEveryLengthAtItsMaximum() {
    Hello hello = (Hello) decodeBothWays("hello-limits-max");

    assertThat(hello.run()).hasSize(Names.MAX_RUN);
    assertThat(hello.job()).hasSize(Names.MAX_JOB);
    assertThat(hello.token().getBytes(StandardCharsets.UTF_8)).hasSize(Names.MAX_TOKEN_BYTES);
    assertThat(hello.series()).singleElement().satisfies(s -> assertThat(s).hasSize(Names.MAX_SERIES_NAME));
    assertThat(hello.labels()).singleElement().satisfies(l -> {
      assertThat(l.key()).hasSize(Names.MAX_LABEL_KEY);
      assertThat(l.value().getBytes(StandardCharsets.UTF_8)).hasSize(Names.MAX_LABEL_VALUE_BYTES);
    });
  }

  @Test
  void stepValuesCarriesSeqStepTimeAndValues() {
    Step step = (Step) decodeBothWays("step-values");

    assertThat(step.seq()).isEqualTo(2);
    assertThat(step.step()).isEqualTo(100);
    assertThat(step.timeNanos()).isEqualTo(1_700_000_000_123_456_789L);
    assertThat(step.count()).isEqualTo(3);
    assertThat(new int[] {step.seriesId(0), step.seriesId(1), step.seriesId(2)}).containsExactly(0, 1, 2);
    // Exact: the hex holds the binary64 nearest to each decimal, which is what the literal parses to.
    assertThat(new double[] {step.value(0), step.value(1), step.value(2)}).containsExactly(0.5, 1e-3, -2.25);
    assertThat(step.maxSeriesId()).isEqualTo(2);

    Step built = Step.of(2, 100, 1_700_000_000_123_456_789L, new int[] {0, 1, 2}, new double[] {0.5, 1e-3, -2.25});
    assertThat(step).isEqualTo(built);
    assertSameBytes(FrameEncoder.encode(built), Golden.load("step-values").bytes());
  }

  @Test
  void stepNonfiniteKeepsNanInfinitiesAndNegativeZeroBitForBit() {
    Step step = (Step) decodeBothWays("step-nonfinite");

    assertThat(step.seq()).isEqualTo(3);
    assertThat(step.step()).isEqualTo(101);
    assertThat(step.timeNanos()).isEqualTo(1_700_000_000_223_456_789L);
    assertThat(step.count()).isEqualTo(4);
    assertThat(new int[] {step.seriesId(0), step.seriesId(1), step.seriesId(2), step.seriesId(3)})
        .containsExactly(3, 0, 1, 2);
    assertThat(Double.doubleToRawLongBits(step.value(0))).isEqualTo(0x7ff8000000000000L);
    assertThat(step.value(1)).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(step.value(2)).isEqualTo(Double.NEGATIVE_INFINITY);
    assertThat(Double.doubleToRawLongBits(step.value(3))).isEqualTo(0x8000000000000000L);
    assertThat(step.maxSeriesId()).isEqualTo(3);

    Step built = Step.of(3, 101, 1_700_000_000_223_456_789L, new int[] {3, 0, 1, 2},
        new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0});
    assertSameBytes(FrameEncoder.encode(built), Golden.load("step-nonfinite").bytes());
  }

  @Test
  void stepEmptyCarriesNoValues() {
    Step step = (Step) decodeBothWays("step-empty");

    assertThat(step).isEqualTo(Step.of(1, 0, 0, new int[0], new double[0]));
    assertThat(step.count()).isZero();
    assertThat(step.maxSeriesId()).isEqualTo(-1);
  }

  @Test
  void monitorFramesAndByeCarryTheirFields() {
    Map<String, Frame> expected = new TreeMap<>(Map.of(
        "heartbeat", Heartbeat.INSTANCE,
        "bye-completed", new Bye(Bye.Status.COMPLETED, "done"),
        "bye-failed", new Bye(Bye.Status.FAILED, ""),
        "bye-cancelled", new Bye(Bye.Status.CANCELLED, "sigterm"),
        "welcome", new Welcome(0, Codec.DEFAULT_MAX_FRAME),
        "welcome-resume", new Welcome(12345, 65536),
        "ack", new Ack(42),
        "error", new ErrorFrame(ErrorCode.LIMIT_EXCEEDED, "frame length 2000000 exceeds max_frame 1048576")));
    expected.forEach((name, frame) -> {
      assertThat(decodeBothWays(name)).as(name).isEqualTo(frame);
      assertSameBytes(FrameEncoder.encode(frame), Golden.load(name).bytes());
    });
  }

  @Test
  void errorVectorMessageIsWhatTheCodecSaysForThatLimit() {
    ErrorFrame golden = (ErrorFrame) decodeBothWays("error");
    FrameException e = frameException(() -> Codec.checkLength(2_000_000, Codec.DEFAULT_MAX_FRAME));

    assertThat(ErrorFrame.of(e)).isEqualTo(golden);
  }

  // --- helpers --------------------------------------------------------------------------

  /** Decodes a named ok vector through both paths, asserting they agree. */
  private static Frame decodeBothWays(String name) {
    Golden.Vector v = Golden.load(name);
    assertThat(v.ok()).as("%s is an ok vector", name).isTrue();
    Frame viaBuffer = new FrameDecoder().decodeWithLength(v.buffer(), v.maxFrame());
    Frame viaStream;
    try {
      viaStream = new FrameDecoder().read(TrickleInputStream.inChunks(v.bytes(), 3, 1, 7), v.maxFrame());
    } catch (IOException e) {
      throw new AssertionError(name + ": stream path failed", e);
    }
    assertThat(viaStream).as("%s: stream path", name).isEqualTo(viaBuffer);
    return viaBuffer;
  }

  static FrameException frameException(ThrowingCallable call) {
    Throwable t = catchThrowable(call);
    assertThat(t).isInstanceOf(FrameException.class);
    return (FrameException) t;
  }

  static void assertSameBytes(byte[] actual, byte[] expected) {
    assertThat(Hex.encode(actual)).isEqualTo(Hex.encode(expected));
  }
}
