package io.ergowatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Coverage-guided fuzzing (Jazzer) of the frame decoder (HelloFuzzTest does HELLO validation). Without
 * {@code JAZZER_FUZZ=1} these run as regression tests over their saved inputs; CI sets it and
 * fuzzes each target for a bounded time; a longer run is documented in docs/operations.md.
 * The property: bad input raises a {@link FrameException} (or EOF on the stream path) and
 * nothing else, and whatever decodes re-encodes to the same bytes.
 */
class DecoderFuzzTest {

  @FuzzTest(maxDuration = "20s")
  void decoderRaisesOnlyProtocolErrorsAndRoundTripsWhatItAccepts(byte[] data) throws IOException {
    FrameDecoder decoder = new FrameDecoder();
    Frame frame;
    try {
      frame = decoder.decodeWithLength(ByteBuffer.wrap(data), Codec.DEFAULT_MAX_FRAME);
    } catch (FrameException expected) {
      return;
    }
    assertThat(FrameEncoder.encode(frame)).isEqualTo(data);
    try {
      assertThat(decoder.read(new ByteArrayInputStream(data), Codec.DEFAULT_MAX_FRAME)).isEqualTo(frame);
    } catch (EOFException | FrameException e) {
      throw new AssertionError("the stream path disagrees with the buffer path: " + e);
    }
  }
}
