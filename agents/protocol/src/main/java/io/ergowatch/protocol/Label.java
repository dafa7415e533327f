package io.ergowatch.protocol;

/** One (key, value) pair of run metadata in a HELLO. */
public record Label(String key, String value) {
  public Label {
    Names.checkLabelKey(key);
    Names.checkLabelValue(key, value);
  }
}
