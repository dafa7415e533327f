package io.ergowatch.monitor.cli;

import java.util.List;
import java.util.Locale;

/** Colour for a terminal, or plain text (piped, NO_COLOR, --color never): the same words either way. */
final class Ansi {
  /** States from the most to the least urgent: the order `runs` lists them in. */
  static final List<String> URGENCY = List.of("diverged", "unstable", "stalled_nonstationary", "oscillating",
      "progressing", "warmup", "converged");

  private final boolean on;

  Ansi(boolean on) {
    this.on = on;
  }

  /** The state, upper case, coloured by urgency: red to act on, yellow to look at, green done. */
  String state(String state) {
    String text = state.toUpperCase(Locale.ROOT);
    switch (state) {
      case "diverged":
      case "unstable":
        return paint("1;31", text);
      case "stalled_nonstationary":
      case "oscillating":
        return paint("33", text);
      case "converged":
        return paint("32", text);
      default:
        return text;
    }
  }

  String bold(String s) {
    return paint("1", s);
  }

  String dim(String s) {
    return paint("2", s);
  }

  /** Printed width of a string that may hold colour codes. */
  static int width(String s) {
    return s.replaceAll("\u001b\\[[0-9;]*m", "").length();
  }

  private String paint(String code, String s) {
    return on ? "\u001b[" + code + "m" + s + "\u001b[0m" : s;
  }

  static int urgency(String state) {
    int i = URGENCY.indexOf(state);
    return i < 0 ? URGENCY.size() : i;
  }
}
