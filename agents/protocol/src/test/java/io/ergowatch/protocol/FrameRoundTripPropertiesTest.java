package io.ergowatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Every valid frame survives the wire: encode → decode gives an equal frame, and the
 * encoding is canonical (encode(decode(bytes)) == bytes, so NaN payloads and -0.0 survive
 * bit for bit). Also: however the bytes are chunked on a stream, the same frames come out.
 *
 * <p>Named {@code …PropertiesTest} because Surefire only runs classes matching its default
 * includes ({@code *Test}, {@code *Tests}, {@code Test*}, {@code *TestCase}).
 */
class FrameRoundTripPropertiesTest {

  @Provide
  Arbitrary<Frame> frames() {
    return FrameArbitraries.frames();
  }

  @Provide
  Arbitrary<Step> steps() {
    return FrameArbitraries.steps();
  }

  @Property(tries = 2000)
  void encodeThenDecodeGivesAnEqualFrameAndTheSameBytes(@ForAll("frames") Frame frame) throws IOException {
    byte[] bytes = FrameEncoder.encode(frame);

    assertThat(FrameEncoder.encodedLength(frame)).isEqualTo(bytes.length);
    assertThat(ByteBuffer.wrap(bytes).getInt()).as("length prefix").isEqualTo(bytes.length - 4);
    assertThat(bytes[4] & 0xFF).as("type byte").isEqualTo(frame.type().wire());

    Frame decoded = new FrameDecoder().decodeWithLength(ByteBuffer.wrap(bytes), Codec.DEFAULT_MAX_FRAME);
    assertThat(decoded).isEqualTo(frame);
    GoldenVectorTest.assertSameBytes(FrameEncoder.encode(decoded), bytes);

    Frame streamed = new FrameDecoder().read(TrickleInputStream.inChunks(bytes, 5, 1, 64), Codec.DEFAULT_MAX_FRAME);
    assertThat(streamed).isEqualTo(frame);
  }

  @Property
  void encodingIntoABufferWritesExactlyEncodedLengthBytesAtItsPosition(
      @ForAll("frames") Frame frame, @ForAll @IntRange(min = 0, max = 16) int offset) {
    int length = FrameEncoder.encodedLength(frame);
    ByteBuffer out = ByteBuffer.allocate(offset + length + 3);
    out.position(offset);

    FrameEncoder.encode(frame, out);

    assertThat(out.position()).isEqualTo(offset + length);
    byte[] written = new byte[length];
    out.position(offset);
    out.get(written);
    GoldenVectorTest.assertSameBytes(written, FrameEncoder.encode(frame));
  }

  @Property
  void stepValuesKeepEveryBitThroughTheWire(@ForAll("steps") Step step) {
    byte[] bytes = FrameEncoder.encode(step);
    Step decoded = (Step) new FrameDecoder().decodeWithLength(ByteBuffer.wrap(bytes), Codec.DEFAULT_MAX_FRAME);

    assertThat(decoded.count()).isEqualTo(step.count());
    for (int i = 0; i < step.count(); i++) {
      assertThat(decoded.seriesId(i)).isEqualTo(step.seriesId(i));
      assertThat(Double.doubleToRawLongBits(decoded.value(i)))
          .as("raw bits of value %d", i).isEqualTo(Double.doubleToRawLongBits(step.value(i)));
    }
  }

  @Property
  void writeStepFromArraysEncodesWhatEncodeOfTheStepDoes(@ForAll("steps") Step step) {
    int n = step.count();
    int[] ids = new int[n + 2];
    double[] values = new double[n + 2];
    for (int i = 0; i < n; i++) {
      ids[i] = step.seriesId(i);
      values[i] = step.value(i);
    }
    ByteBuffer out = ByteBuffer.allocate(Codec.stepFrameBytes(n));

    FrameEncoder.writeStep(out, step.seq(), step.step(), step.timeNanos(), ids, values, n);

    assertThat(out.hasRemaining()).as("Codec.stepFrameBytes is exact").isFalse();
    GoldenVectorTest.assertSameBytes(out.array(), FrameEncoder.encode(step));
  }

  @Property(tries = 300)
  void chunkingOfTheStreamDoesNotMatter(
      @ForAll("frameLists") List<Frame> frames,
      @ForAll @Size(min = 1, max = 5) List<@IntRange(min = 1, max = 40) Integer> chunkSizes) throws IOException {
    byte[] all = FrameEncoder.encodeAll(frames);
    assertThat(all).hasSize(frames.stream().mapToInt(FrameEncoder::encodedLength).sum());
    TrickleInputStream in = TrickleInputStream.inChunks(all, chunkSizes.stream().mapToInt(Integer::intValue).toArray());
    FrameDecoder decoder = new FrameDecoder();

    for (Frame expected : frames) {
      assertThat(decoder.read(in, Codec.DEFAULT_MAX_FRAME)).isEqualTo(expected);
    }
    assertThatThrownBy(() -> decoder.read(in, Codec.DEFAULT_MAX_FRAME))
        .isInstanceOf(EOFException.class)
        .hasMessage("connection closed");
  }

  @Provide
  Arbitrary<List<Frame>> frameLists() {
    return FrameArbitraries.frames().list().ofMaxSize(6);
  }

  @Property(tries = 200)
  void oneDecoderDecodesAnySequenceOfFramesBuffersOrStreams(
      @ForAll("frameLists") List<Frame> frames) {
    FrameDecoder decoder = new FrameDecoder();
    for (Frame f : frames) {
      byte[] bytes = FrameEncoder.encode(f);
      assertThat(decoder.decodeWithLength(ByteBuffer.wrap(bytes), Codec.DEFAULT_MAX_FRAME)).isEqualTo(f);
    }
  }

  @Property(tries = 200)
  void aBodyDecodesWithoutItsLengthPrefixToo(@ForAll("frames") Frame frame) {
    byte[] bytes = FrameEncoder.encode(frame);
    ByteBuffer body = ByteBuffer.wrap(bytes, 4, bytes.length - 4).slice();

    assertThat(new FrameDecoder().decode(body)).isEqualTo(frame);
    assertThat(body.hasRemaining()).as("decode consumes the body").isFalse();
  }

  @Property(tries = 50)
  void aFrameExactlyAtMaxFrameIsAcceptedAndOneByteLessOfLimitIsNot(@ForAll("frames") Frame frame) {
    byte[] bytes = FrameEncoder.encode(frame);
    long length = bytes.length - 4L;

    assertThat(new FrameDecoder().decodeWithLength(ByteBuffer.wrap(bytes), length)).isEqualTo(frame);
    assertThatThrownBy(() -> new FrameDecoder().decodeWithLength(ByteBuffer.wrap(bytes), length - 1))
        .isInstanceOf(FrameException.class)
        .hasMessage("frame length " + length + " exceeds max_frame " + (length - 1))
        .extracting(e -> ((FrameException) e).reason()).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
  }
}
