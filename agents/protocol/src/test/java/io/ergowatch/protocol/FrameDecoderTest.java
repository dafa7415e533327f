package io.ergowatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.type;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The decoder's answers to single frames (protocol.md, "Frame" and each frame's section), with
 * the exact message the monitor puts into its ERROR; fragmented input on the stream path; and
 * good frames after bad ones on one decoder.
 */
class FrameDecoderTest {
  private static final long MAX = Codec.DEFAULT_MAX_FRAME;
  private final FrameDecoder decoder = new FrameDecoder();

  static void assertRejected(ThrowingCallable call, ErrorCode reason, String message) {
    assertThatThrownBy(call)
        .isInstanceOf(FrameException.class)
        .hasMessage(message)
        .asInstanceOf(type(FrameException.class))
        .extracting(FrameException::reason)
        .isEqualTo(reason);
  }

  private void assertFrameRejected(byte[] frame, ErrorCode reason, String message) {
    assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(frame), MAX), reason, message);
    // The stream path reads the same complete frame and must say the same.
    assertRejected(() -> new FrameDecoder().read(new ByteArrayInputStream(frame), MAX), reason, message);
  }

  private static byte[] prefix(long length, int... body) {
    Wire w = new Wire().u32(length);
    for (int b : body) {
      w.u8(b);
    }
    return w.bytes();
  }

  @Nested
  class LengthPrefix {
    @Test
    void rejectsLengthZero() {
      assertFrameRejected(prefix(0), ErrorCode.BAD_FRAME, "frame length 0 (a frame has at least its type byte)");
      assertRejected(() -> decoder.decode(ByteBuffer.allocate(0)), ErrorCode.BAD_FRAME,
          "frame length 0 (a frame has at least its type byte)");
    }

    @Test
    void rejectsFrameLongerThanMaxFrameWithoutReadingTheBody() throws IOException {
      byte[] bytes = prefix(2_000_000, 0x02, 0, 0);
      String message = "frame length 2000000 exceeds max_frame 1048576";

      assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(bytes), MAX), ErrorCode.LIMIT_EXCEEDED, message);
      TrickleInputStream in = TrickleInputStream.failingReadsPast(bytes, 4);
      assertRejected(() -> decoder.read(in, MAX), ErrorCode.LIMIT_EXCEEDED, message);
      assertThat(in.consumed()).isEqualTo(4);
    }

    @Test
    void acceptsLengthEqualToMaxFrame() throws IOException {
      byte[] heartbeat = FrameEncoder.encode(Heartbeat.INSTANCE);

      assertThat(decoder.decodeWithLength(ByteBuffer.wrap(heartbeat), 1)).isEqualTo(Heartbeat.INSTANCE);
      assertThat(decoder.read(new ByteArrayInputStream(heartbeat), 1)).isEqualTo(Heartbeat.INSTANCE);
      assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(heartbeat), 0), ErrorCode.LIMIT_EXCEEDED,
          "frame length 1 exceeds max_frame 0");
    }

    @Test
    void rejectsALengthBeyondWhatAJavaArrayHoldsEvenUnderAHugeMaxFrame() throws IOException {
      // Regression: with max_frame ≥ 2^31 (a u32 WELCOME allows up to 2^32-1) a prefix of 2^31
      // or more was cast to a negative int and read(InputStream) threw IllegalArgumentException.
      byte[] bytes = prefix(0xFFFF_FFFFL, 0x03);
      String message = "frame length 4294967295 exceeds 2147483639, the most one frame can hold in memory";

      for (long maxFrame : new long[] {0xFFFF_FFFFL, Long.MAX_VALUE}) {
        assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(bytes), maxFrame), ErrorCode.LIMIT_EXCEEDED,
            message);
        TrickleInputStream in = TrickleInputStream.failingReadsPast(bytes, 4);
        assertRejected(() -> decoder.read(in, maxFrame), ErrorCode.LIMIT_EXCEEDED, message);
      }
      assertThat(Codec.checkLength(Integer.MAX_VALUE - 8, Long.MAX_VALUE)).isEqualTo(Integer.MAX_VALUE - 8);
      assertRejected(() -> Codec.checkLength(Integer.MAX_VALUE - 7L, Long.MAX_VALUE), ErrorCode.LIMIT_EXCEEDED,
          "frame length 2147483640 exceeds 2147483639, the most one frame can hold in memory");
    }

    @Test
    void rejectsABufferShorterThanItsPrefixSays() {
      assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(prefix(10, 0x03, 0, 0)), MAX),
          ErrorCode.BAD_FRAME, "frame length 10 but only 3 bytes follow");
      assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(new byte[] {0, 0, 0}), MAX),
          ErrorCode.BAD_FRAME, "frame ends inside length: needs 4 bytes, 3 left");
    }

    @Test
    void rejectsABufferLongerThanItsPrefixSays() {
      assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(prefix(1, 0x03, 0x03)), MAX),
          ErrorCode.BAD_FRAME, "1 bytes after the frame's end");
    }

    @Test
    void rejectsUnknownFrameTypes() {
      assertFrameRejected(prefix(1, 0x05), ErrorCode.BAD_FRAME, "unknown frame type 0x05");
      assertFrameRejected(prefix(1, 0x00), ErrorCode.BAD_FRAME, "unknown frame type 0x00");
      assertFrameRejected(prefix(1, 0x84), ErrorCode.BAD_FRAME, "unknown frame type 0x84");
    }
  }

  @Nested
  class HelloFrames {
    @Test
    void rejectsBadMagic() {
      assertFrameRejected(Wire.hello().magic(0x45575032).frame(), ErrorCode.BAD_FRAME,
          "bad magic 0x45575032, expected 0x45575031 (\"EWP1\")");
    }

    @Test
    void rejectsVersionTwoAsUnsupported() {
      assertFrameRejected(Wire.hello().version(2).frame(), ErrorCode.UNSUPPORTED_VERSION,
          "protocol version 2 is not supported; this monitor speaks version 1");
      assertFrameRejected(Wire.hello().version(0).frame(), ErrorCode.UNSUPPORTED_VERSION,
          "protocol version 0 is not supported; this monitor speaks version 1");
    }

    @Test
    void rejectsRunWithASlash() {
      assertFrameRejected(Wire.hello().run("a/b").frame(), ErrorCode.INVALID_NAME,
          "run \"a/b\" must be 1..128 chars of [A-Za-z0-9._:-]");
    }

    @Test
    void rejectsEmptyRunAndTooLongRunQuotingAtMost80Chars() {
      assertFrameRejected(Wire.hello().run("").frame(), ErrorCode.INVALID_NAME,
          "run \"\" must be 1..128 chars of [A-Za-z0-9._:-]");
      assertFrameRejected(Wire.hello().run("a".repeat(129)).frame(), ErrorCode.INVALID_NAME,
          "run \"" + "a".repeat(80) + "...\" must be 1..128 chars of [A-Za-z0-9._:-]");
    }

    @Test
    void rejectsJobWithASpace() {
      assertFrameRejected(Wire.hello().job("sweep 7").frame(), ErrorCode.INVALID_NAME,
          "job \"sweep 7\" must be 0..128 chars of [A-Za-z0-9._:-]");
    }

    @Test
    void rejectsARunWithAControlCharacterEscapingItInTheMessage() {
      assertFrameRejected(Wire.hello().run("r\n1").frame(), ErrorCode.INVALID_NAME,
          "run \"r\\u000a1\" must be 1..128 chars of [A-Za-z0-9._:-]");
    }

    @Test
    void rejectsDuplicateSeries() {
      assertFrameRejected(Wire.hello().series("loss", "lr", "loss").frame(), ErrorCode.INVALID_NAME,
          "duplicate series name \"loss\"");
    }

    @Test
    void rejectsSeriesOutsideItsCharset() {
      assertFrameRejected(Wire.hello().series("Loss").frame(), ErrorCode.INVALID_NAME,
          "series name \"Loss\" must be 1..64 chars of [a-z0-9_.]");
      assertFrameRejected(Wire.hello().series("").frame(), ErrorCode.INVALID_NAME,
          "series name \"\" must be 1..64 chars of [a-z0-9_.]");
    }

    @Test
    void rejectsBadAndDuplicateLabelKeys() {
      assertFrameRejected(Wire.hello().labels(new String[] {"1abc", "x"}).frame(), ErrorCode.INVALID_NAME,
          "label key \"1abc\" must match [a-z_][a-z0-9_]{0,63}");
      assertFrameRejected(
          Wire.hello().labels(new String[] {"optimizer", "sgd"}, new String[] {"optimizer", "adam"}).frame(),
          ErrorCode.INVALID_NAME, "duplicate label key \"optimizer\"");
    }

    @Test
    void rejectsTokenAndLabelValueOver256BytesAsLimitExceeded() {
      assertFrameRejected(Wire.hello().token("t".repeat(257)).frame(), ErrorCode.LIMIT_EXCEEDED,
          "token is 257 bytes, at most 256 allowed");
      // 129 × "é" is 258 UTF-8 bytes but only 129 chars: the limit is on bytes.
      assertFrameRejected(Wire.hello().labels(new String[] {"note", "\u00e9".repeat(129)}).frame(),
          ErrorCode.LIMIT_EXCEEDED, "label note value is 258 bytes, at most 256 allowed");
    }

    @Test
    void rejectsWorldZeroAndRankNotBelowWorld() {
      assertFrameRejected(Wire.hello().world(0).frame(), ErrorCode.BAD_FRAME, "world must be >= 1, got 0");
      assertFrameRejected(Wire.hello().rank(2).world(2).frame(), ErrorCode.BAD_FRAME, "rank 2 must be < world 2");
      // rank is a u32: its top bit makes it large, not negative.
      assertFrameRejected(Wire.hello().rank(0xFFFF_FFFFL).world(4).frame(), ErrorCode.BAD_FRAME,
          "rank 4294967295 must be < world 4");
    }

    @Test
    void rejectsUnknownMode() {
      assertFrameRejected(Wire.hello().mode(2).frame(), ErrorCode.BAD_FRAME, "unknown mode 2 (0 REPLICATED, 1 SHARDED)");
    }

    @Test
    void rejectsInvalidUtf8NamingTheField() {
      byte[] frame = Wire.body(FrameType.HELLO).u32(Hello.MAGIC).u16(1)
          .bytesStr(new byte[] {'r', (byte) 0xc0, (byte) 0x80}).str("").str("")
          .u64(1).u32(0).u32(1).u8(0).u16(0).u16(0).frame();
      assertFrameRejected(frame, ErrorCode.BAD_FRAME, "run is not valid UTF-8");

      byte[] label = Wire.body(FrameType.HELLO).u32(Hello.MAGIC).u16(1).str("r1").str("").str("")
          .u64(1).u32(0).u32(1).u8(0).u16(0).u16(1).str("note").bytesStr(new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80})
          .frame();
      assertFrameRejected(label, ErrorCode.BAD_FRAME, "label value 0 is not valid UTF-8");
    }

    @Test
    void rejectsTruncatedHelloAndStringRunningPastTheEnd() {
      byte[] full = Wire.hello().wire().bytes();
      byte[] cut = new Wire().raw(Arrays.copyOf(full, 1 + 4 + 2 + 4 + 2 + 2 + 3)).frame();
      assertFrameRejected(cut, ErrorCode.BAD_FRAME, "frame ends inside session, rank, world, mode: needs 17 bytes, 3 left");

      byte[] overrun = Wire.body(FrameType.HELLO).u32(Hello.MAGIC).u16(1).u16(100).raw((byte) 'r', (byte) '1').frame();
      assertFrameRejected(overrun, ErrorCode.BAD_FRAME, "frame ends inside run: needs 100 bytes, 2 left");
    }

    @Test
    void rejectsTrailingBytesAfterTheHello() {
      byte[] frame = Wire.hello().wire().u8(0).frame();
      assertFrameRejected(frame, ErrorCode.BAD_FRAME, "1 trailing byte after the HELLO payload");
    }
  }

  @Nested
  class StepFrames {
    @Test
    void rejectsStepWithDuplicateId() {
      byte[] frame = Wire.step(1, new int[] {0, 0}, new double[] {1.0, 2.0}).frame();
      assertFrameRejected(frame, ErrorCode.BAD_FRAME, "series id 0 appears twice in one STEP");
    }

    @Test
    void rejectsSeqZero() {
      assertFrameRejected(Wire.step(0, new int[0], new double[0]).frame(), ErrorCode.BAD_FRAME,
          "seq must be >= 1, got 0");
    }

    @Test
    void rejectsStepNumberWithTheTopBitSet() {
      // protocol.md says u64; the codec holds it in a long and refuses 2^63 and up.
      byte[] frame = Wire.body(FrameType.STEP).u64(1).u64(1L << 63).u64(0).u16(0).frame();
      assertFrameRejected(frame, ErrorCode.BAD_FRAME, "step 9223372036854775808 exceeds 2^63-1");
    }

    @Test
    void rejectsCountLargerThanTheValuesPresent() {
      byte[] frame = Wire.body(FrameType.STEP).u64(1).u64(0).u64(0).u16(2).u16(0).f64(1.0).frame();
      assertFrameRejected(frame, ErrorCode.BAD_FRAME, "STEP count 2 needs 20 bytes of values, only 10 follow");
      assertFrameRejected(Wire.body(FrameType.STEP).u32(0).frame(), ErrorCode.BAD_FRAME,
          "frame ends inside STEP header: needs 26 bytes, 4 left");
    }

    @Test
    void rejectsTrailingBytesAfterTheValues() {
      byte[] frame = Wire.step(1, new int[] {3}, new double[] {1.0}).u8(0).frame();
      assertFrameRejected(frame, ErrorCode.BAD_FRAME, "1 trailing byte after the STEP payload");
    }

    @Test
    void decodesAStepWithTheMostValuesAFrameCanCount() {
      int[] ids = IntStream.range(0, Step.MAX_VALUES).map(i -> Step.MAX_VALUES - 1 - i).toArray();
      double[] values = IntStream.range(0, Step.MAX_VALUES).mapToDouble(i -> i * 0.5).toArray();
      Step step = Step.of(7, 9, 11, ids, values);
      byte[] bytes = FrameEncoder.encode(step);

      assertThat(bytes).hasSize(Codec.stepFrameBytes(Step.MAX_VALUES));
      assertThat(decoder.decodeWithLength(ByteBuffer.wrap(bytes), MAX)).isEqualTo(step);
      assertThat(step.maxSeriesId()).isEqualTo(0xFFFE);
    }
  }

  @Nested
  class OtherFrames {
    @Test
    void rejectsHeartbeatWithAPayload() {
      assertFrameRejected(prefix(2, 0x03, 0x00), ErrorCode.BAD_FRAME, "1 trailing byte after the HEARTBEAT payload");
    }

    @Test
    void rejectsByeWithUnknownStatus() {
      byte[] frame = Wire.body(FrameType.BYE).u8(3).str("done").frame();
      assertFrameRejected(frame, ErrorCode.BAD_FRAME, "unknown BYE status 3 (0 completed, 1 failed, 2 cancelled)");
    }

    @Test
    void rejectsErrorWithUndefinedCode() {
      assertFrameRejected(Wire.body(FrameType.ERROR).u16(9).str("x").frame(), ErrorCode.BAD_FRAME,
          "unknown ERROR code 9");
      assertFrameRejected(Wire.body(FrameType.ERROR).u16(0).str("x").frame(), ErrorCode.BAD_FRAME,
          "unknown ERROR code 0");
    }

    @Test
    void rejectsWelcomeWithMaxFrameZero() {
      assertFrameRejected(Wire.body(FrameType.WELCOME).u64(0).u32(0).frame(), ErrorCode.BAD_FRAME,
          "max_frame 0 outside 1..2^32-1");
    }

    @Test
    void decodesWelcomeMaxFrameAsAnUnsignedU32() {
      byte[] frame = Wire.body(FrameType.WELCOME).u64(5).u32(0xFFFF_FFFFL).frame();
      assertThat(decoder.decodeWithLength(ByteBuffer.wrap(frame), MAX)).isEqualTo(new Welcome(5, 0xFFFF_FFFFL));
    }

    @Test
    void rejectsAckedSeqWithTheTopBitSet() {
      assertFrameRejected(Wire.body(FrameType.ACK).u64(1L << 63).frame(), ErrorCode.BAD_FRAME,
          "acked_seq 9223372036854775808 exceeds 2^63-1");
    }

    @Test
    void rejectsTruncatedMonitorFrames() {
      assertFrameRejected(Wire.body(FrameType.ACK).u32(0).frame(), ErrorCode.BAD_FRAME,
          "frame ends inside acked_seq: needs 8 bytes, 4 left");
      assertFrameRejected(Wire.body(FrameType.WELCOME).u64(0).u16(0).frame(), ErrorCode.BAD_FRAME,
          "frame ends inside max_frame: needs 4 bytes, 2 left");
      assertFrameRejected(Wire.body(FrameType.BYE).u8(0).u16(5).frame(), ErrorCode.BAD_FRAME,
          "frame ends inside message: needs 5 bytes, 0 left");
      assertFrameRejected(Wire.body(FrameType.ERROR).u8(0).frame(), ErrorCode.BAD_FRAME,
          "frame ends inside code: needs 2 bytes, 1 left");
    }
  }

  @Nested
  class Streams {
    @Test
    void assemblesAFrameDeliveredOneByteAtATime() throws IOException {
      Hello hello = new Hello("resnet-lr0.1", "sweep-7", "s3cret", 0xfedcba9876543210L, 1, 4, Mode.SHARDED,
          List.of("loss", "grad_sq"), List.of(new Label("note", "caf\u00e9 \u2713")));
      byte[] bytes = FrameEncoder.encode(hello);
      TrickleInputStream in = TrickleInputStream.oneByteAtATime(bytes);

      assertThat(decoder.read(in, MAX)).isEqualTo(hello);
      assertThat(in.reads()).as("one read call per byte").isEqualTo(bytes.length);
    }

    @Test
    void readsBackToBackFramesOneByteAtATimeThenReportsTheCleanEnd() throws IOException {
      List<Frame> frames = List.of(
          new Hello("r1", "", "", 1, 0, 1, Mode.REPLICATED, List.of("loss"), List.of()),
          Step.of(1, 0, 5, new int[] {0}, new double[] {Double.NaN}),
          Heartbeat.INSTANCE,
          new Bye(Bye.Status.COMPLETED, "done"));
      TrickleInputStream in = TrickleInputStream.oneByteAtATime(FrameEncoder.encodeAll(frames));

      for (Frame f : frames) {
        assertThat(decoder.read(in, MAX)).isEqualTo(f);
      }
      assertThatThrownBy(() -> decoder.read(in, MAX)).isInstanceOf(EOFException.class).hasMessage("connection closed");
    }

    @Test
    void readsExactlyOneFrameAndNoFurther() throws IOException {
      byte[] ack = FrameEncoder.encode(new Ack(1));
      TrickleInputStream in = TrickleInputStream.failingReadsPast(FrameEncoder.encodeAll(List.of(new Ack(1), new Ack(2))),
          ack.length);

      assertThat(decoder.read(in, MAX)).isEqualTo(new Ack(1));
      assertThat(in.consumed()).isEqualTo(ack.length);
    }

    @Test
    void reportsAStreamEndingInsideAPrefixOrAFrame() {
      assertThatThrownBy(() -> decoder.read(new ByteArrayInputStream(new byte[0]), MAX))
          .isInstanceOf(EOFException.class).hasMessage("connection closed");
      assertThatThrownBy(() -> decoder.read(TrickleInputStream.oneByteAtATime(new byte[] {0, 0}), MAX))
          .isInstanceOf(EOFException.class).hasMessage("connection closed inside a length prefix");
      byte[] cut = Arrays.copyOf(FrameEncoder.encode(new Ack(3)), 8);
      assertThatThrownBy(() -> decoder.read(TrickleInputStream.oneByteAtATime(cut), MAX))
          .isInstanceOf(EOFException.class).hasMessage("connection closed inside a frame");
    }
  }

  @Nested
  class GoodFramesAfterBadOnes {
    @Test
    void decodesAValidStepAfterAStepWithADuplicateIdUsingTheSameIds() {
      // The decoder marks ids in a reused bitset; a rejected STEP must leave it clean, or the
      // next STEP carrying those ids would be refused as "appears twice".
      int[] ids = {5, 700, 64, 65535, 0};
      byte[] bad = Wire.step(1, new int[] {5, 700, 64, 65535, 0, 700}, new double[6]).frame();
      byte[] good = Wire.step(2, ids, new double[] {1, 2, 3, 4, 5}).frame();

      assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(bad), MAX), ErrorCode.BAD_FRAME,
          "series id 700 appears twice in one STEP");
      Step step = (Step) decoder.decodeWithLength(ByteBuffer.wrap(good), MAX);

      assertThat(step).isEqualTo(Step.of(2, 0, 0, ids, new double[] {1, 2, 3, 4, 5}));
      assertThat(decoder.decodeWithLength(ByteBuffer.wrap(good), MAX)).as("and again").isEqualTo(step);
    }

    @Test
    void decodesAValidStepAfterAStepRejectedForItsSeq() {
      int[] ids = {1, 2, 3};
      byte[] bad = Wire.step(0, ids, new double[3]).frame();
      byte[] good = Wire.step(1, ids, new double[3]).frame();

      assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(bad), MAX), ErrorCode.BAD_FRAME,
          "seq must be >= 1, got 0");
      assertThat(decoder.decodeWithLength(ByteBuffer.wrap(good), MAX)).isEqualTo(Step.of(1, 0, 0, ids, new double[3]));
    }

    @Test
    void decodesAValidHelloAfterAnInvalidUtf8One() {
      byte[] badFrame = Wire.body(FrameType.HELLO).u32(Hello.MAGIC).u16(1).str("r1").str("")
          .bytesStr(new byte[] {'t', (byte) 0xe2, (byte) 0x9c}).u64(1).u32(0).u32(1).u8(0).u16(0).u16(0).frame();
      byte[] good = Wire.hello().labels(new String[] {"note", "caf\u00e9 \u2713"}).frame();

      assertRejected(() -> decoder.decodeWithLength(ByteBuffer.wrap(badFrame), MAX), ErrorCode.BAD_FRAME,
          "token is not valid UTF-8");
      Hello hello = (Hello) decoder.decodeWithLength(ByteBuffer.wrap(good), MAX);
      assertThat(hello.labels()).containsExactly(new Label("note", "caf\u00e9 \u2713"));
    }

    @Test
    void readsTheNextFrameOfAStreamAfterARejectedCompleteFrame() throws IOException {
      byte[] bad = Wire.step(1, new int[] {4, 4}, new double[2]).frame();
      byte[] good = FrameEncoder.encode(Step.of(1, 0, 0, new int[] {4}, new double[] {0.25}));
      TrickleInputStream in = TrickleInputStream.oneByteAtATime(new Wire().raw(bad).raw(good).bytes());

      assertRejected(() -> decoder.read(in, MAX), ErrorCode.BAD_FRAME, "series id 4 appears twice in one STEP");
      assertThat(in.consumed()).as("the rejected frame was read whole").isEqualTo(bad.length);
      assertThat(decoder.read(in, MAX)).isEqualTo(Step.of(1, 0, 0, new int[] {4}, new double[] {0.25}));
    }
  }
}
