package io.ergowatch.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Whatever bytes arrive, the decoder answers with a frame or a {@link FrameException} (the
 * stream path also with an {@link EOFException} when the data ends), never with anything
 * else: no BufferUnderflowException, IllegalArgumentException, NegativeArraySizeException,
 * OutOfMemoryError. A frame it does accept re-encodes to exactly the bytes it came from (the
 * encoding is canonical), and the buffer and stream paths agree wherever both see one whole
 * frame.
 *
 * <p>Named {@code …PropertiesTest} because Surefire only runs classes matching its default
 * includes.
 */
class RandomBytesPropertiesTest {

  @Property(tries = 3000)
  void randomBytesOnlyEverRaiseFrameException(@ForAll("randomBytes") byte[] bytes, @ForAll("maxFrames") long maxFrame) {
    check(bytes, maxFrame);
  }

  @Property(tries = 5000)
  void randomBodiesBehindACorrectLengthPrefixOnlyEverRaiseFrameException(
      @ForAll("randomBodies") byte[] body, @ForAll("maxFrames") long maxFrame) {
    check(withLengthPrefix(body), maxFrame);
  }

  @Property(tries = 3000)
  void mutatedValidFramesOnlyEverRaiseFrameException(@ForAll("mutants") byte[] bytes, @ForAll("maxFrames") long maxFrame) {
    check(bytes, maxFrame);
  }

  // --- the check ------------------------------------------------------------------------

  /** What one decode call did: a frame, or a FrameException; anything else has failed the property. */
  private record Outcome(Frame frame, FrameException error) {
    String describe() {
      return frame != null ? "frame " + frame : error.reason() + ": " + error.getMessage();
    }
  }

  private static void check(byte[] bytes, long maxFrame) {
    Outcome viaBuffer = decodeWithLength(bytes, maxFrame);
    if (viaBuffer.frame() != null) {
      GoldenVectorTest.assertSameBytes(FrameEncoder.encode(viaBuffer.frame()), bytes);
    }

    Outcome firstFromStream = readAll(bytes, maxFrame);

    if (bytes.length >= 4) {
      long length = ByteBuffer.wrap(bytes).getInt() & 0xFFFF_FFFFL;
      if (length == 0 || length > maxFrame || length == bytes.length - 4) {
        // Both paths see the same single frame (or reject its prefix): they must agree.
        assertThat(firstFromStream).as("stream path for %s, max_frame %d", Hex.encode(bytes), maxFrame).isNotNull();
        assertThat(firstFromStream.describe())
            .as("stream path agrees with decodeWithLength for %s, max_frame %d", Hex.encode(bytes), maxFrame)
            .isEqualTo(viaBuffer.describe());
      }
    }
  }

  private static Outcome decodeWithLength(byte[] bytes, long maxFrame) {
    try {
      return new Outcome(new FrameDecoder().decodeWithLength(ByteBuffer.wrap(bytes), maxFrame), null);
    } catch (FrameException e) {
      return rejected(e, "decodeWithLength", bytes, maxFrame);
    } catch (Throwable t) {
      throw new AssertionError("decodeWithLength(" + Hex.encode(bytes) + ", max_frame " + maxFrame
          + ") threw " + t + " instead of a FrameException", t);
    }
  }

  /**
   * Reads frames off a stream of {@code bytes} until it ends or a frame is rejected; every
   * frame read re-encodes to the bytes it was read from.
   *
   * @return the outcome of the first read, or null when the data ends inside the first frame
   */
  private static Outcome readAll(byte[] bytes, long maxFrame) {
    TrickleInputStream in = TrickleInputStream.inChunks(bytes, 7, 1, 3, 64);
    FrameDecoder decoder = new FrameDecoder();
    Outcome first = null;
    for (int i = 0; ; i++) {
      int before = in.consumed();
      Outcome outcome;
      try {
        Frame frame = decoder.read(in, maxFrame);
        byte[] consumed = Arrays.copyOfRange(bytes, before, in.consumed());
        GoldenVectorTest.assertSameBytes(FrameEncoder.encode(frame), consumed);
        outcome = new Outcome(frame, null);
      } catch (FrameException e) {
        outcome = rejected(e, "read", bytes, maxFrame);
      } catch (EOFException e) {
        assertThat(e.getMessage()).isNotBlank();
        return first;
      } catch (Throwable t) {
        throw new AssertionError("read(" + Hex.encode(bytes) + ", max_frame " + maxFrame + "), frame " + i
            + ", threw " + t + " instead of a FrameException or EOFException", t);
      }
      if (first == null) {
        first = outcome;
      }
      if (outcome.error() != null) {
        return first;
      }
      assertThat(i).as("frames read from %d bytes", bytes.length).isLessThanOrEqualTo(bytes.length / 5);
    }
  }

  private static Outcome rejected(FrameException e, String path, byte[] bytes, long maxFrame) {
    assertThat(e.reason()).as("%s reason", path).isNotNull();
    assertThat(e.getMessage()).as("%s message for %s, max_frame %d", path, Hex.encode(bytes), maxFrame).isNotBlank();
    return new Outcome(null, e);
  }

  // --- generators -----------------------------------------------------------------------

  @Provide
  Arbitrary<Long> maxFrames() {
    return Arbitraries.frequencyOf(
        Tuple.of(4, Arbitraries.just((long) Codec.DEFAULT_MAX_FRAME)),
        Tuple.of(2, Arbitraries.of(1L, 5L, 36L, 64L, (long) Integer.MAX_VALUE, 0xFFFF_FFFFL, Long.MAX_VALUE)),
        Tuple.of(1, Arbitraries.longs().between(1, 1L << 33)));
  }

  @Provide
  Arbitrary<byte[]> randomBytes() {
    return bytes(0, 300);
  }

  /**
   * A type byte (a valid one most of the time), for a HELLO often the right magic and version,
   * then random bytes: so decoding gets past the first checks into the payload.
   */
  @Provide
  Arbitrary<byte[]> randomBodies() {
    Arbitrary<Integer> type = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.of(Arrays.stream(FrameType.values()).map(FrameType::wire).toList())),
        Tuple.of(1, Arbitraries.integers().between(0, 255)));
    Arbitrary<Boolean> helloHeader = Arbitraries.of(true, true, false);
    return Combinators.combine(type, helloHeader, bytes(0, 200)).as((t, header, rest) -> {
      Wire w = new Wire().u8(t);
      if (t == FrameType.HELLO.wire() && header) {
        w.u32(Hello.MAGIC).u16(Hello.VERSION);
      }
      return w.raw(rest).bytes();
    });
  }

  /** A valid frame, mutated once to a few times, its length prefix corrected half the time. */
  @Provide
  Arbitrary<byte[]> mutants() {
    Arbitrary<Mutation> mutation = Combinators.combine(
        Arbitraries.of(Mutation.Kind.class),
        Arbitraries.integers().between(0, Integer.MAX_VALUE),
        Arbitraries.integers().between(0, 255)).as(Mutation::new);
    return Combinators.combine(FrameArbitraries.frames(), mutation.list().ofMinSize(1).ofMaxSize(4),
            Arbitraries.of(true, false))
        .as((frame, mutations, fixPrefix) -> {
          byte[] b = FrameEncoder.encode(frame);
          for (Mutation m : mutations) {
            b = m.apply(b);
          }
          return fixPrefix && b.length >= 4 ? withLengthPrefix(Arrays.copyOfRange(b, 4, b.length)) : b;
        });
  }

  /** One edit of a byte array; {@code where} is reduced modulo the array's size. */
  record Mutation(Kind kind, int where, int value) {
    enum Kind { FLIP_BIT, SET_BYTE, INSERT_BYTE, DELETE_BYTE, TRUNCATE, DUPLICATE_TAIL }

    byte[] apply(byte[] b) {
      int n = b.length;
      switch (kind) {
        case FLIP_BIT: {
          if (n == 0) {
            return b;
          }
          byte[] c = b.clone();
          c[where % n] ^= (byte) (1 << (value & 7));
          return c;
        }
        case SET_BYTE: {
          if (n == 0) {
            return b;
          }
          byte[] c = b.clone();
          c[where % n] = (byte) value;
          return c;
        }
        case INSERT_BYTE: {
          int at = where % (n + 1);
          byte[] c = new byte[n + 1];
          System.arraycopy(b, 0, c, 0, at);
          c[at] = (byte) value;
          System.arraycopy(b, at, c, at + 1, n - at);
          return c;
        }
        case DELETE_BYTE: {
          if (n == 0) {
            return b;
          }
          int at = where % n;
          byte[] c = new byte[n - 1];
          System.arraycopy(b, 0, c, 0, at);
          System.arraycopy(b, at + 1, c, at, n - at - 1);
          return c;
        }
        case TRUNCATE:
          return Arrays.copyOf(b, where % (n + 1));
        case DUPLICATE_TAIL: {
          int from = where % (n + 1);
          byte[] c = Arrays.copyOf(b, n + (n - from));
          System.arraycopy(b, from, c, n, n - from);
          return c;
        }
        default:
          throw new AssertionError(kind);
      }
    }
  }

  private static Arbitrary<byte[]> bytes(int min, int max) {
    return Arbitraries.bytes().list().ofMinSize(min).ofMaxSize(max).map(list -> {
      byte[] b = new byte[list.size()];
      for (int i = 0; i < b.length; i++) {
        b[i] = list.get(i);
      }
      return b;
    });
  }

  private static byte[] withLengthPrefix(byte[] body) {
    return ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array();
  }
}
