package io.ergowatch.monitor.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/** Text for people: numbers to four significant digits, aligned tables, indented JSON. */
final class Text {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Text() {}

  /** A JSON number to 4 significant digits; "-" for null (no finite value) or a missing field. */
  static String number(JsonNode n) {
    if (n == null || !n.isNumber()) {
      return "-";
    }
    return number(n.asDouble());
  }

  static String number(double v) {
    if (v == Math.rint(v) && Math.abs(v) < 1e6) {
      return Long.toString((long) v);
    }
    String s = String.format(Locale.ROOT, "%.4g", v);
    if (s.contains("e")) {
      return s.replaceFirst("\\.?0+e", "e").replace("e+0", "e+").replace("e-0", "e-");
    }
    return s.contains(".") ? s.replaceFirst("0+$", "").replaceFirst("\\.$", "") : s;
  }

  /** "estimate +/- stderr", or the estimate alone when the error is unknown. */
  static String pm(JsonNode estimate, JsonNode stderr) {
    String e = number(estimate);
    return stderr == null || !stderr.isNumber() || e.equals("-") ? e : e + " +/- " + number(stderr);
  }

  /** Columns padded to their widest cell, each line after {@code indent}; the last column is not padded. */
  static void table(PrintWriter out, List<String[]> rows, Ansi ansi, String indent) {
    int cols = rows.get(0).length;
    int[] width = new int[cols];
    for (String[] r : rows) {
      for (int c = 0; c < cols; c++) {
        width[c] = Math.max(width[c], Ansi.width(r[c]));
      }
    }
    boolean header = true;
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder(indent);
      for (int c = 0; c < cols; c++) {
        String cell = header ? ansi.bold(r[c]) : r[c];
        line.append(cell);
        if (c < cols - 1) {
          line.append(" ".repeat(width[c] - Ansi.width(r[c]) + 2));
        }
      }
      out.println(line.toString().stripTrailing());
      header = false;
    }
  }

  static ArrayNode array(List<JsonNode> nodes) {
    ArrayNode a = MAPPER.createArrayNode();
    nodes.forEach(a::add);
    return a;
  }

  static String pretty(JsonNode n) {
    try {
      return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
