package io.ergowatch.dl4j;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The per-step gradient and weight geometry of one parameter vector (math.md §2, protocol.md
 * "Well-known series"), with no knowledge of Deeplearning4j: the vector is a list of rank-1 ND4J
 * views (segments), and every reduction is one ND4J op per segment (see {@link Vectors}).
 *
 * <p>One step t takes two calls, in this order:
 * <ol>
 *   <li>{@link #gradient}: w = w_t and the raw gradient r (g_t = r · gradScale), before the
 *       optimizer touches them;
 *   <li>{@link #update}: w = w_{t+1} and s, the step the optimizer subtracted (w_{t+1} = w_t − s,
 *       so u_t = −s). The gradient view may have been overwritten by then: this class keeps a copy
 *       of g_t at geometry steps.
 * </ol>
 * Every series of step t is known after the second call; nothing is reported one step late.
 *
 * <p>Series: grad_sq, weight_sq, nonfinite (count of NaN/Inf in g and w, computed only when
 * ‖g‖² or ‖w‖² is not finite) at every step, at every level; from STANDARD on, at geometry steps (t
 * divisible by {@code every}), update_sq, grad_dot_update, update_dot_prev, ema_grad_dot = ⟨g, w −
 * c⟩, ema_dist_sq = ‖w − c‖², ema_update_dot = ⟨u, w − c⟩; at FULL, proj.j = ⟨θ_j, w_t⟩ at
 * geometry steps and the lagged-reference probes (see {@link LaggedReference}).
 *
 * <p>The EMA centre c starts at the first geometry step's w; after each geometry step t, c ←
 * c + a (w_t − c), a = min(1, every / emaHorizon). So with the c of step t, ‖w_{t+1} − c‖² =
 * ema_dist_sq + 2 ema_update_dot + update_sq (math.md §2, exact up to rounding).
 *
 * <p>Cost: every operation over d is one BLAS level-1 call per segment (see {@link Vectors}); a
 * geometry step takes 13 of them, a step without geometry 2 (the two norms). (Fusing the products
 * with s_t into one gemv over a 3 × d matrix was measured and was no faster single-threaded, and
 * 18× slower on a row-offset view.)
 *
 * <p>Memory: see {@link Level}. Buffers are allocated at the first call, shaped like its segments.
 */
final class GeometryAccumulator {
  public static final List<String> BASIC_SERIES = List.of("grad_sq", "weight_sq", "nonfinite");
  public static final List<String> STANDARD_SERIES = List.of("update_sq", "grad_dot_update", "update_dot_prev",
      "ema_grad_dot", "ema_dist_sq", "ema_update_dot");
  public static final List<String> REF_SERIES = List.of("ref_grad_dot", "ref_dist_sq", "ref_grad_sq",
      "ref_probe_step");

  private final Level level;
  private final int every;
  private final double alpha;
  private final int projectionCount;
  private final long seed;
  private final int refEvery;
  private final int refLag;
  private final long projectionCacheBytes;

  private final int idGradSq, idWeightSq, idNonfinite, idUpdateSq, idGradDotUpdate, idUpdateDotPrev;
  private final int idEmaGradDot, idEmaDistSq, idEmaUpdateDot;
  private final int[] idRef;
  private final int[] idProj;

  // STANDARD and FULL:
  private List<INDArray> sPrev;  // s_{t-1} = -u_{t-1}
  private List<INDArray> g;      // the raw gradient of a geometry step (g_t = gScale · g)
  private List<INDArray> centre; // c between steps; c - w_t during a geometry step
  private double gScale;
  private Projections projections;
  private LaggedReference reference;

  private boolean sPrevValid;
  private boolean centreReady;
  private long pendingStep = -1;
  private boolean pendingGeometry;

  /**
   * @param level what to measure
   * @param every geometry cadence in steps (≥ 1)
   * @param emaHorizon horizon of the EMA centre in steps (≥ 1)
   * @param projections number of random projections (FULL)
   * @param seed seed of the projection directions
   * @param refEvery lagged-reference probe cadence (FULL)
   * @param refLag steps from a probe to its reference (FULL)
   * @param record the record the series are written to (names from {@link #seriesNames})
   */
  GeometryAccumulator(Level level, int every, double emaHorizon, int projections, long seed, int refEvery,
      int refLag, StepRecord record) {
    this(level, every, emaHorizon, projections, seed, refEvery, refLag, Projections.DEFAULT_CACHE_BYTES, record);
  }

  /** As above, with the bound on cached projection directions (0: regenerate them at every call). */
  GeometryAccumulator(Level level, int every, double emaHorizon, int projections, long seed, int refEvery,
      int refLag, long projectionCacheBytes, StepRecord record) {
    if (every < 1) {
      throw new IllegalArgumentException("geometryEvery must be >= 1, got " + every);
    }
    if (!(emaHorizon >= 1)) {
      throw new IllegalArgumentException("emaHorizon must be >= 1 step, got " + emaHorizon);
    }
    if (level == Level.FULL && (projections < 1 || projections > 1024)) {
      throw new IllegalArgumentException("projections must be within 1..1024, got " + projections);
    }
    this.level = level;
    this.every = every;
    this.alpha = Math.min(1.0, every / emaHorizon);
    this.projectionCount = level == Level.FULL ? projections : 0;
    this.seed = seed;
    this.refEvery = refEvery;
    this.refLag = refLag;
    this.projectionCacheBytes = projectionCacheBytes;
    if (level == Level.FULL) {
      reference = new LaggedReference(refEvery, refLag); // validates
    }
    idGradSq = record.id("grad_sq");
    idWeightSq = record.id("weight_sq");
    idNonfinite = record.id("nonfinite");
    idUpdateSq = record.id("update_sq");
    idGradDotUpdate = record.id("grad_dot_update");
    idUpdateDotPrev = record.id("update_dot_prev");
    idEmaGradDot = record.id("ema_grad_dot");
    idEmaDistSq = record.id("ema_dist_sq");
    idEmaUpdateDot = record.id("ema_update_dot");
    idRef = new int[REF_SERIES.size()];
    for (int i = 0; i < idRef.length; i++) {
      idRef[i] = record.id(REF_SERIES.get(i));
    }
    idProj = new int[projectionCount];
    for (int j = 0; j < projectionCount; j++) {
      idProj[j] = record.id("proj." + j);
    }
  }

  /** The series this level sends, in declaration order. */
  public static List<String> seriesNames(Level level, int projections) {
    List<String> out = new ArrayList<>(BASIC_SERIES);
    if (level != Level.BASIC) {
      out.addAll(STANDARD_SERIES);
    }
    if (level == Level.FULL) {
      for (int j = 0; j < projections; j++) {
        out.add("proj." + j);
      }
      out.addAll(REF_SERIES);
    }
    return out;
  }

  /**
   * Bytes of state this accumulator holds (or will hold) for d parameters of elementBytes each, with
   * at most {@code projectionCacheBytes} of cached projection directions.
   */
  public static long memoryBytes(Level level, long d, int elementBytes, int projections, int refEvery, int refLag,
      long projectionCacheBytes) {
    long vectors = level == Level.BASIC ? 0 : 3;
    long extra = 0;
    if (level == Level.FULL) {
      vectors += 2L * LaggedReference.liveProbes(refEvery, refLag);
      long cached = Projections.cachedBytes(projections, d, elementBytes);
      extra = cached <= projectionCacheBytes ? cached : (long) projections * Projections.BLOCK * elementBytes;
    }
    return vectors * d * elementBytes + extra;
  }

  public boolean isGeometryStep(long step) {
    return step % every == 0;
  }

  /**
   * Step t, first half: w = w_t, rawGrad = the gradient before the optimizer, g_t = rawGrad ·
   * gradScale. Segments are rank-1 views, the same shapes at every call.
   */
  public void gradient(long step, List<INDArray> w, List<INDArray> rawGrad, double gradScale, StepRecord out) {
    if (level != Level.BASIC && g == null) {
      allocate(w);
    }
    boolean geometry = isGeometryStep(step) && level != Level.BASIC;
    double rawSq;
    if (geometry) {
      Vectors.copy(rawGrad, g); // the scale stays a double: one pass, no rounding of g
      gScale = gradScale;
      if (!centreReady) {
        Vectors.copy(w, centre);
        centreReady = true;
      }
      Vectors.axpy(-1.0, w, centre); // c - w_t
      rawSq = Vectors.sq(g);          // g is in cache now; rawGrad is not read again
      out.put(idEmaGradDot, -gradScale * Vectors.dot(g, centre));
      out.put(idEmaDistSq, Vectors.sq(centre));
    } else {
      rawSq = Vectors.sq(rawGrad);
    }
    double gradSq = rawSq * gradScale * gradScale;
    double weightSq = Vectors.sq(w);
    long nonfinite = 0;
    if (!Double.isFinite(gradSq)) {
      nonfinite += Vectors.nonfinite(rawGrad);
    }
    if (!Double.isFinite(weightSq)) {
      nonfinite += Vectors.nonfinite(w);
    }
    out.put(idGradSq, gradSq);
    out.put(idWeightSq, weightSq);
    out.put(idNonfinite, nonfinite);
    if (geometry && projections != null) {
      double[] p = projections.compute(w);
      for (int j = 0; j < idProj.length; j++) {
        out.put(idProj[j], p[j]);
      }
    }
    if (reference != null) {
      reference.step(step, w, rawGrad, gradScale, out, idRef);
    }
    pendingStep = step;
    pendingGeometry = geometry;
  }

  /**
   * Step t, second half: wNext = w_{t+1}, s = the step the optimizer subtracted (u_t = −s).
   *
   * @throws IllegalStateException if {@link #gradient} was not called for this step
   */
  public void update(long step, List<INDArray> wNext, List<INDArray> s, StepRecord out) {
    if (step != pendingStep) {
      throw new IllegalStateException("update(" + step + ") without gradient(" + step + "); last gradient step: "
          + pendingStep);
    }
    pendingStep = -1;
    if (level == Level.BASIC) {
      return;
    }
    if (pendingGeometry) {
      out.put(idUpdateSq, Vectors.sq(s));
      out.put(idGradDotUpdate, -gScale * Vectors.dot(g, s));
      if (sPrevValid) {
        out.put(idUpdateDotPrev, Vectors.dot(s, sPrev)); // <-s, -s_prev>
      }
      out.put(idEmaUpdateDot, Vectors.dot(s, centre));   // <-s, -(c - w_t)>
      // c + a (w_t - c) = w_t + (1 - a)(c - w_t), with w_t = w_{t+1} + s. The centre itself is
      // kept (not c − w): weights changed behind the listener's back (layer constraints, applied
      // after iterationDone; a skipped iteration) cannot make it drift.
      Vectors.scal(1.0 - alpha, centre);
      Vectors.axpy(1.0, wNext, centre);
      Vectors.axpy(1.0, s, centre);
    }
    if (isGeometryStep(step + 1)) {
      Vectors.copy(s, sPrev);
      sPrevValid = true;
    } else {
      sPrevValid = false;
    }
  }

  /** Forgets the pending step (the optimizer did not apply it); the next update series restart. */
  public void abandon() {
    pendingStep = -1;
    sPrevValid = false;
  }

  private void allocate(List<INDArray> w) {
    sPrev = Vectors.like(w);
    g = Vectors.like(w);
    centre = Vectors.like(w);
    if (level == Level.FULL) {
      projections = new Projections(projectionCount, seed, w.get(0).dataType(), projectionCacheBytes);
    }
  }

  Level level() {
    return level;
  }

  int every() {
    return every;
  }

  double alpha() {
    return alpha;
  }

  int refEvery() {
    return refEvery;
  }

  int refLag() {
    return refLag;
  }
}
