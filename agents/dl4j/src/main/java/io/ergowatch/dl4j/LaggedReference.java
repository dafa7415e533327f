package io.ergowatch.dl4j;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Lagged-reference probes (math.md §2): at probe steps p (multiples of {@code every}) keep w_p
 * and g_p; at the reference step r = p + lag report ref_grad_dot = ⟨g_p, w_p − w_r⟩, ref_dist_sq =
 * ‖w_p − w_r‖², ref_grad_sq = ‖g_p‖² and ref_probe_step = p. Memory: 2d per live probe,
 * ceil(lag / every) of them (at most 8); buffers are recycled.
 */
final class LaggedReference {
  static final int MAX_LIVE = 8;

  private record Probe(long step, List<INDArray> w, List<INDArray> g) {}

  private final int every;
  private final int lag;
  private final ArrayDeque<Probe> live = new ArrayDeque<>();
  private final ArrayDeque<List<INDArray>> pool = new ArrayDeque<>();

  LaggedReference(int every, int lag) {
    if (every < 1 || lag < 1) {
      throw new IllegalArgumentException("refEvery and refLag must be >= 1, got " + every + " and " + lag);
    }
    int n = liveProbes(every, lag);
    if (n > MAX_LIVE) {
      throw new IllegalArgumentException("refLag " + lag + " / refEvery " + every + " keeps " + n
          + " probes (2 weight-sized buffers each) alive; at most " + MAX_LIVE);
    }
    this.every = every;
    this.lag = lag;
  }

  static int liveProbes(int every, int lag) {
    return (lag + every - 1) / every;
  }

  /**
   * Evaluates the latest due probe against w (into {@code out}), recycles every due probe, then
   * keeps (w, g·gradScale) if this is a probe step.
   *
   * @return true if a probe was evaluated
   */
  boolean step(long step, List<INDArray> w, List<INDArray> rawGrad, double gradScale, StepRecord out,
      int[] ids) {
    Probe due = null;
    for (Iterator<Probe> it = live.iterator(); it.hasNext();) {
      Probe p = it.next();
      if (p.step() + lag <= step) {
        if (due != null) {
          recycle(due);
        }
        due = p;
        it.remove();
      }
    }
    if (due != null) {
      List<INDArray> d = due.w();
      Vectors.axpy(-1.0, w, d); // w_p - w_r, in place
      out.put(ids[0], Vectors.dot(due.g(), d));
      out.put(ids[1], Vectors.sq(d));
      out.put(ids[2], Vectors.sq(due.g()));
      out.put(ids[3], due.step());
      recycle(due);
    }
    if (step % every == 0) {
      List<INDArray> wp = buffer(w);
      List<INDArray> gp = buffer(w);
      Vectors.copy(w, wp);
      Vectors.copy(rawGrad, gp);
      Vectors.scal(gradScale, gp);
      live.add(new Probe(step, wp, gp));
    }
    return due != null;
  }

  int liveCount() {
    return live.size();
  }

  private void recycle(Probe p) {
    pool.push(p.w());
    pool.push(p.g());
  }

  private List<INDArray> buffer(List<INDArray> like) {
    return pool.isEmpty() ? new ArrayList<>(Vectors.like(like)) : pool.pop();
  }
}
