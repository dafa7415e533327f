package io.ergowatch.protocol;

import static io.ergowatch.protocol.FrameDecoderTest.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import org.junit.jupiter.api.Test;

/** The naming rules of protocol.md (HELLO) and the quoting of client values in messages. */
class NamesTest {

  @Test
  void quoteEscapesControlCharactersQuotesAndBackslashes() {
    assertThat(Names.quote("a\nb\u0000c\td\u001be\u007f")).isEqualTo("\"a\\u000ab\\u0000c\\u0009d\\u001be\\u007f\"");
    assertThat(Names.quote("say \"hi\" \\o/")).isEqualTo("\"say \\u0022hi\\u0022 \\u005co/\"");
  }

  @Test
  void quoteEscapesC1ControlCharactersToo() {
    // U+0085 (NEL) ends a line for some log readers; C1 controls are controls like C0 ones.
    assertThat(Names.quote("a\u0085b\u009bc")).isEqualTo("\"a\\u0085b\\u009bc\"");
  }

  @Test
  void quoteKeepsPrintableUnicode() {
    assertThat(Names.quote("caf\u00e9 \u2713 \uD83D\uDE00")).isEqualTo("\"caf\u00e9 \u2713 \uD83D\uDE00\"");
  }

  @Test
  void quoteTruncatesAt80Chars() {
    assertThat(Names.quote("x".repeat(80))).isEqualTo("\"" + "x".repeat(80) + "\"");
    assertThat(Names.quote("x".repeat(81))).isEqualTo("\"" + "x".repeat(80) + "...\"");
    assertThat(Names.quote("y".repeat(10_000))).hasSize(80 + 3 + 2);
  }

  @Test
  void quoteNeverCutsASurrogatePairInHalf() {
    String smiley = "\uD83D\uDE00";
    String quoted = Names.quote("x".repeat(79) + smiley + "tail");

    assertThat(quoted).isEqualTo("\"" + "x".repeat(79) + "...\"");
  }

  @Test
  void runAcceptsItsWholeCharsetUpTo128Chars() {
    assertThatCode(() -> Names.checkRun("AZaz09._:-")).doesNotThrowAnyException();
    assertThatCode(() -> Names.checkRun("r".repeat(128))).doesNotThrowAnyException();
    assertRejected(() -> Names.checkRun("r".repeat(129)), ErrorCode.INVALID_NAME,
        "run \"" + "r".repeat(80) + "...\" must be 1..128 chars of [A-Za-z0-9._:-]");
    assertRejected(() -> Names.checkRun("caf\u00e9"), ErrorCode.INVALID_NAME,
        "run \"caf\u00e9\" must be 1..128 chars of [A-Za-z0-9._:-]");
  }

  @Test
  void jobMayBeEmpty() {
    assertThatCode(() -> Names.checkJob("")).doesNotThrowAnyException();
    assertThatCode(() -> Names.checkJob("j".repeat(128))).doesNotThrowAnyException();
    assertRejected(() -> Names.checkJob("a/b"), ErrorCode.INVALID_NAME,
        "job \"a/b\" must be 0..128 chars of [A-Za-z0-9._:-]");
  }

  @Test
  void tokenIsLimitedIn256BytesNotChars() {
    assertThatCode(() -> Names.checkToken("\u00e9".repeat(128))).doesNotThrowAnyException();
    assertRejected(() -> Names.checkToken("\u20ac".repeat(86)), ErrorCode.LIMIT_EXCEEDED,
        "token is 258 bytes, at most 256 allowed");
  }

  @Test
  void seriesNamesAreLowerCaseDigitsUnderscoreAndDotUpTo64Chars() {
    assertThatCode(() -> Names.checkSeries("layer.fc1.grad_sq")).doesNotThrowAnyException();
    assertThatCode(() -> Names.checkSeries("s".repeat(64))).doesNotThrowAnyException();
    assertRejected(() -> Names.checkSeries("s".repeat(65)), ErrorCode.INVALID_NAME,
        "series name \"" + "s".repeat(65) + "\" must be 1..64 chars of [a-z0-9_.]");
    assertRejected(() -> Names.checkSeries("val-loss"), ErrorCode.INVALID_NAME,
        "series name \"val-loss\" must be 1..64 chars of [a-z0-9_.]");
  }

  @Test
  void labelKeysStartWithALetterOrUnderscore() {
    assertThatCode(() -> Names.checkLabelKey("_x9")).doesNotThrowAnyException();
    assertThatCode(() -> Names.checkLabelKey("k".repeat(64))).doesNotThrowAnyException();
    assertRejected(() -> Names.checkLabelKey("k".repeat(65)), ErrorCode.INVALID_NAME,
        "label key \"" + "k".repeat(65) + "\" must match [a-z_][a-z0-9_]{0,63}");
    assertRejected(() -> Names.checkLabelKey(""), ErrorCode.INVALID_NAME,
        "label key \"\" must match [a-z_][a-z0-9_]{0,63}");
    assertRejected(() -> Names.checkLabelKey("a.b"), ErrorCode.INVALID_NAME,
        "label key \"a.b\" must match [a-z_][a-z0-9_]{0,63}");
  }

  @Test
  void labelValuesAreLimitedIn256Bytes() {
    assertThatCode(() -> Names.checkLabelValue("note", "v".repeat(256))).doesNotThrowAnyException();
    assertRejected(() -> Names.checkLabelValue("note", "v".repeat(257)), ErrorCode.LIMIT_EXCEEDED,
        "label note value is 257 bytes, at most 256 allowed");
  }
}
