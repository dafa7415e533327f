package io.ergowatch.monitor.dashboards;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough PromQL lexing to list the metric names an expression selects, and Grafana's
 * template variables replaced by test values. Prometheus itself checks the syntax (the tests
 * evaluate every expression); this only has to find names, so it drops what cannot be one:
 * strings, label matchers, ranges, grouping label lists, numbers, keywords and function names.
 */
final class PromQl {
  private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
  private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
  private static final Pattern RANGE = Pattern.compile("\\[[^\\]]*]");
  private static final Pattern GROUPING = Pattern.compile(
      "\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern OFFSET = Pattern.compile("\\boffset\\s+-?[0-9a-z]+");
  private static final Pattern NUMBER = Pattern.compile(
      "(?<![A-Za-z0-9_:.])(?:0[xX][0-9a-fA-F]+|[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?![A-Za-z0-9_:])");
  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_:][A-Za-z0-9_:]*");
  private static final Set<String> KEYWORDS = Set.of("by", "without", "on", "ignoring", "group_left", "group_right",
      "bool", "and", "or", "unless", "offset", "atan2", "inf", "nan", "Inf", "NaN");
  private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?}|\\$([A-Za-z_][A-Za-z0-9_]*)");

  private PromQl() {}

  /** The metric names selected by {@code expr} (template variables must be replaced first). */
  static Set<String> metricNames(String expr) {
    String s = STRING.matcher(expr).replaceAll(" ");
    s = MATCHERS.matcher(s).replaceAll(" ");
    s = RANGE.matcher(s).replaceAll(" ");
    s = GROUPING.matcher(s).replaceAll(" ");
    s = OFFSET.matcher(s).replaceAll(" ");
    s = NUMBER.matcher(s).replaceAll(" ");
    Set<String> names = new TreeSet<>();
    Matcher m = IDENTIFIER.matcher(s);
    while (m.find()) {
      String id = m.group();
      int next = m.end();
      while (next < s.length() && Character.isWhitespace(s.charAt(next))) {
        next++;
      }
      boolean call = next < s.length() && s.charAt(next) == '(';
      if (!call && !KEYWORDS.contains(id)) {
        names.add(id);
      }
    }
    return names;
  }

  /**
   * Replaces Grafana's {@code $name} and {@code ${name}} with values; an unknown variable is an
   * error, so a dashboard cannot use one the test does not know about.
   */
  static String substitute(String expr, Map<String, String> values) {
    Matcher m = VARIABLE.matcher(expr);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String name = m.group(1) != null ? m.group(1) : m.group(2);
      String v = values.get(name);
      if (v == null) {
        throw new IllegalArgumentException("unknown template variable $" + name + " in: " + expr);
      }
      m.appendReplacement(out, Matcher.quoteReplacement(v));
    }
    m.appendTail(out);
    return out.toString();
  }

  /**
   * The PromQL inside a Grafana variable query: {@code label_values(selector, label)} gives the
   * selector, {@code query_result(expr)} the expression, a bare expression itself.
   */
  static String variableQuery(String query) {
    Matcher lv = Pattern.compile("^\\s*label_values\\((.*),\\s*[A-Za-z_][A-Za-z0-9_]*\\s*\\)\\s*$").matcher(query);
    if (lv.matches()) {
      return lv.group(1).trim();
    }
    Matcher qr = Pattern.compile("^\\s*query_result\\((.*)\\)\\s*$").matcher(query);
    return qr.matches() ? qr.group(1).trim() : query.trim();
  }
}
