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
 * Coverage-guided fuzzing (Jazzer) of HELLO validation (DecoderFuzzTest does the decoder). Without
 * {@code JAZZER_FUZZ=1} these run as regression tests over their saved inputs; CI sets it and
 * fuzzes each target for a bounded time; a longer run is documented in docs/operations.md.
 * The property: bad input raises a {@link FrameException} (or EOF on the stream path) and
 * nothing else, and whatever decodes re-encodes to the same bytes.
 */
class HelloFuzzTest {

  @FuzzTest(maxDuration = "20s")
  void helloValidationAcceptsOnlyValidNamesAndRoundTrips(FuzzedDataProvider in) {
    Hello hello;
    try {
      int nSeries = in.consumeInt(0, 8);
      List<String> series = new ArrayList<>();
      for (int i = 0; i < nSeries; i++) {
        series.add(in.consumeString(70));
      }
      int nLabels = in.consumeInt(0, 4);
      List<Label> labels = new ArrayList<>();
      for (int i = 0; i < nLabels; i++) {
        labels.add(new Label(in.consumeString(70), in.consumeString(300)));
      }
      hello = new Hello(in.consumeString(140), in.consumeString(140), in.consumeString(300), in.consumeLong(),
          in.consumeInt(), in.consumeInt(), in.consumeBoolean() ? Mode.REPLICATED : Mode.SHARDED, series, labels);
    } catch (FrameException expected) {
      return;
    }
    byte[] bytes = FrameEncoder.encode(hello);
    Frame back = new FrameDecoder().decodeWithLength(ByteBuffer.wrap(bytes), Codec.DEFAULT_MAX_FRAME);
    // Strings with unpaired surrogates encode lossily (as '?'), so compare through a second encode.
    assertThat(FrameEncoder.encode(back)).isEqualTo(bytes);
  }
}
