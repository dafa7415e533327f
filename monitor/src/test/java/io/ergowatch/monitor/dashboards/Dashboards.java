package io.ergowatch.monitor.dashboards;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The Grafana dashboards of dashboards/grafana/dashboards and the PromQL in them. */
final class Dashboards {
  static final String DIR = "dashboards/grafana/dashboards";

  /** One PromQL expression of a dashboard: a panel target or a variable's query. */
  record Query(String dashboard, String where, String expr) {}

  private Dashboards() {}

  static List<Path> files() {
    try (Stream<Path> s = Files.list(Repo.file(DIR))) {
      return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every panel, rows' nested panels included. */
  static List<JsonNode> panels(JsonNode dashboard) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode p : dashboard.path("panels")) {
      out.add(p);
      for (JsonNode nested : p.path("panels")) {
        out.add(nested);
      }
    }
    return out;
  }

  /** Every PromQL expression of every dashboard, with Grafana's variables still in it. */
  static List<Query> queries() {
    List<Query> out = new ArrayList<>();
    for (Path f : files()) {
      JsonNode d = Repo.json(f);
      String name = f.getFileName().toString();
      for (JsonNode p : panels(d)) {
        for (JsonNode t : p.path("targets")) {
          if (t.hasNonNull("expr")) {
            out.add(new Query(name, "panel \"" + p.path("title").asText() + "\" " + t.path("refId").asText(),
                t.get("expr").asText()));
          }
        }
      }
      for (JsonNode v : d.path("templating").path("list")) {
        if ("query".equals(v.path("type").asText())) {
          JsonNode q = v.path("query");
          String text = q.isObject() ? q.path("query").asText() : q.asText();
          out.add(new Query(name, "variable $" + v.path("name").asText(), PromQl.variableQuery(text)));
        }
      }
    }
    return out;
  }
}
