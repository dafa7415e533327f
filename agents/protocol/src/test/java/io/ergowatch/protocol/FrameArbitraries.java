package io.ergowatch.protocol;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;

/**
 * Generators of valid EWP/1 frames (protocol.md): names from their exact charsets and length
 * ranges, strings of arbitrary Unicode (no lone surrogates: those are not text and have no
 * UTF-8 form) within their byte limits, sessions over the full u64 range, every double bit
 * pattern.
 */
final class FrameArbitraries {
  static final String RUN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
  static final String SERIES_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_.";
  static final String KEY_FIRST_CHARS = "abcdefghijklmnopqrstuvwxyz_";
  static final String KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_";

  private FrameArbitraries() {}

  static Arbitrary<Frame> frames() {
    return Arbitraries.oneOf(hellos(), steps(), Arbitraries.just(Heartbeat.INSTANCE), byes(), welcomes(), acks(),
        errors());
  }

  static Arbitrary<Hello> hellos() {
    Arbitrary<String> run = Arbitraries.strings().withChars(RUN_CHARS).ofMinLength(1).ofMaxLength(Names.MAX_RUN);
    Arbitrary<String> job = Arbitraries.strings().withChars(RUN_CHARS).ofMinLength(0).ofMaxLength(Names.MAX_JOB);
    Arbitrary<String> token = unicode(Names.MAX_TOKEN_BYTES);
    Arbitrary<Long> session = Arbitraries.longs(); // all 64 bits: u64 held in a signed long
    Arbitrary<int[]> rankWorld = Arbitraries.frequencyOf(
            Tuple.of(3, Arbitraries.integers().between(1, 16)),
            Tuple.of(1, Arbitraries.integers().between(1, Integer.MAX_VALUE)))
        .flatMap(world -> Arbitraries.integers().between(0, world - 1).map(rank -> new int[] {rank, world}));
    Arbitrary<Mode> mode = Arbitraries.of(Mode.class);
    Arbitrary<List<String>> series = Arbitraries.strings().withChars(SERIES_CHARS)
        .ofMinLength(1).ofMaxLength(Names.MAX_SERIES_NAME)
        .list().uniqueElements().ofMaxSize(20).withSizeDistribution(RandomDistribution.uniform());
    return Combinators.combine(run, job, token, session, rankWorld, mode, series, labels())
        .as((r, j, t, s, rw, m, ser, lab) -> new Hello(r, j, t, s, rw[0], rw[1], m, ser, lab));
  }

  static Arbitrary<String> labelKeys() {
    return Combinators.combine(
            Arbitraries.strings().withChars(KEY_FIRST_CHARS).ofLength(1),
            Arbitraries.strings().withChars(KEY_CHARS).ofMinLength(0).ofMaxLength(Names.MAX_LABEL_KEY - 1))
        .as(String::concat);
  }

  static Arbitrary<List<Label>> labels() {
    return labelKeys().list().uniqueElements().ofMaxSize(8).withSizeDistribution(RandomDistribution.uniform()).flatMap(keys ->
        unicode(Names.MAX_LABEL_VALUE_BYTES).list().ofSize(keys.size()).map(values -> {
          List<Label> labels = new ArrayList<>(keys.size());
          for (int i = 0; i < keys.size(); i++) {
            labels.add(new Label(keys.get(i), values.get(i)));
          }
          return labels;
        }));
  }

  static Arbitrary<Step> steps() {
    Arbitrary<Long> seq = Arbitraries.longs().between(1, Long.MAX_VALUE);
    Arbitrary<Long> step = Arbitraries.longs().between(0, Long.MAX_VALUE);
    Arbitrary<Long> time = Arbitraries.longs();
    Arbitrary<int[]> ids = Arbitraries.integers().between(0, 0xFFFF).list().uniqueElements().ofMaxSize(40)
        .withSizeDistribution(RandomDistribution.uniform())
        .map(l -> l.stream().mapToInt(Integer::intValue).toArray());
    return Combinators.combine(seq, step, time, ids).flatAs((q, s, t, id) ->
        values().list().ofSize(id.length)
            .map(v -> Step.of(q, s, t, id, v.stream().mapToDouble(Double::doubleValue).toArray())));
  }

  /** Any double: every bit pattern (NaN payloads included), plus the special values often. */
  static Arbitrary<Double> values() {
    return Arbitraries.frequencyOf(
        Tuple.of(4, Arbitraries.longs().map(Double::longBitsToDouble)),
        Tuple.of(2, Arbitraries.doubles()),
        Tuple.of(2, Arbitraries.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, 0.0,
            Double.MIN_VALUE, -Double.MAX_VALUE, Double.longBitsToDouble(0x7ff0000000000001L),
            Double.longBitsToDouble(0xfff8000000000000L), Double.longBitsToDouble(0xffffffffffffffffL))));
  }

  static Arbitrary<Bye> byes() {
    return Combinators.combine(Arbitraries.of(Bye.Status.class), unicode(2000)).as(Bye::new);
  }

  static Arbitrary<Welcome> welcomes() {
    return Combinators.combine(Arbitraries.longs().between(0, Long.MAX_VALUE),
        Arbitraries.longs().between(1, 0xFFFF_FFFFL)).as(Welcome::new);
  }

  static Arbitrary<Ack> acks() {
    return Arbitraries.longs().between(0, Long.MAX_VALUE).map(Ack::new);
  }

  static Arbitrary<ErrorFrame> errors() {
    return Combinators.combine(Arbitraries.of(ErrorCode.class), unicode(2000)).as(ErrorFrame::new);
  }

  /**
   * Strings of Unicode scalar values (any plane, ASCII most often) whose UTF-8 form is at most
   * {@code maxBytes} long; code points are taken while they fit, so the limit itself is hit.
   */
  static Arbitrary<String> unicode(int maxBytes) {
    Arbitrary<Integer> codePoint = Arbitraries.frequencyOf(
        Tuple.of(4, Arbitraries.integers().between(0x20, 0x7e)),
        Tuple.of(1, Arbitraries.integers().between(0, 0x7ff)),
        Tuple.of(1, Arbitraries.integers().between(0x800, 0xffff).filter(c -> c < 0xd800 || c > 0xdfff)),
        Tuple.of(1, Arbitraries.integers().between(0x10000, Character.MAX_CODE_POINT)));
    return codePoint.list().ofMaxSize(maxBytes).map(cps -> {
      StringBuilder sb = new StringBuilder();
      int bytes = 0;
      for (int cp : cps) {
        int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (bytes + n > maxBytes) {
          break;
        }
        bytes += n;
        sb.appendCodePoint(cp);
      }
      return sb.toString();
    });
  }

  static int utf8Length(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }
}
