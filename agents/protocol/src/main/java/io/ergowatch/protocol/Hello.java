package io.ergowatch.protocol;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * HELLO (0x01): opens a connection for one (run, rank) of one agent session.
 *
 * @param run run id, 1..128 chars of [A-Za-z0-9._:-]
 * @param job group of runs, 0..128 chars of the same set
 * @param token auth token, 0..256 UTF-8 bytes
 * @param session random per agent process start (the full u64 range, held as a signed long)
 * @param rank 0 ≤ rank &lt; world
 * @param world ranks of this run, ≥ 1
 * @param series names, id = position in the list; unique, [a-z0-9_.]{1,64}
 * @param labels run metadata, keys unique
 */
public record Hello(
    String run,
    String job,
    String token,
    long session,
    int rank,
    int world,
    Mode mode,
    List<String> series,
    List<Label> labels) implements Frame {

  public static final int MAGIC = 0x45575031;
  public static final int VERSION = 1;
  /** n_series is a u16 on the wire. */
  public static final int MAX_SERIES = 0xFFFF;

  public Hello {
    Names.checkRun(run);
    Names.checkJob(job);
    Names.checkToken(token);
    if (world < 1) {
      throw new FrameException(ErrorCode.BAD_FRAME, "world must be >= 1, got " + Integer.toUnsignedString(world));
    }
    if (rank < 0 || rank >= world) {
      throw new FrameException(ErrorCode.BAD_FRAME,
          "rank " + Integer.toUnsignedString(rank) + " must be < world " + world);
    }
    java.util.Objects.requireNonNull(mode, "mode");
    series = List.copyOf(series);
    labels = List.copyOf(labels);
    if (series.size() > MAX_SERIES || labels.size() > MAX_SERIES) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED, "at most 65535 series and labels per HELLO");
    }
    Set<String> seen = new HashSet<>();
    for (String s : series) {
      Names.checkSeries(s);
      if (!seen.add(s)) {
        throw new FrameException(ErrorCode.INVALID_NAME, "duplicate series name " + Names.quote(s));
      }
    }
    seen.clear();
    for (Label l : labels) {
      if (!seen.add(l.key())) {
        throw new FrameException(ErrorCode.INVALID_NAME, "duplicate label key " + Names.quote(l.key()));
      }
    }
  }

  @Override
  public FrameType type() {
    return FrameType.HELLO;
  }

  /** The id of a series name in this HELLO, or -1. */
  public int seriesId(String name) {
    return series.indexOf(name);
  }

  /** A HELLO without the token, safe to log. */
  @Override
  public String toString() {
    return "Hello[run=" + run + ", job=" + job + ", session=" + Long.toUnsignedString(session, 16)
        + ", rank=" + rank + "/" + world + ", mode=" + mode + ", series=" + series.size()
        + ", labels=" + labels + "]";
  }
}
