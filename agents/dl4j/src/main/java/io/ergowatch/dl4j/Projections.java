package io.ergowatch.dl4j;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.GaussianDistribution;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * proj.j = ⟨θ_j, w⟩ for k fixed random directions θ_j with N(0, 1) coordinates.
 *
 * <p>The directions are never stored whole: coordinates [b·BLOCK, (b+1)·BLOCK) of segment s are a
 * k × n block generated, used and overwritten, from a dedicated ND4J generator seeded with
 * {@link #blockSeed(long, int, long)}(seed, s, b). The same (seed, k, segments) give the same
 * directions at every call; the training's own random stream is not touched. Memory: one k × BLOCK
 * block, or, when all k × d directions take at most {@code cacheBytes}, those directions, generated
 * once at the first call and kept (the same numbers: the same seeded blocks).
 *
 * <p>Why the cache: regenerating k × d Gaussian numbers costs far more than using them (d = 269,322,
 * k = 32 on the 2-core dev machine: about 100 ms per call against a few ms for the products), and
 * for small and medium models k × d is a few tens of MiB.
 */
final class Projections {
  /** Coordinates per block (per direction). */
  static final int BLOCK = 1 << 15;
  /** Default bound on the cached directions. */
  static final long DEFAULT_CACHE_BYTES = 64L << 20;

  private final int count;
  private final long seed;
  private final long cacheBytes;
  private final DataType type;
  private final Random rng;
  private final double[] out;
  private INDArray scratch;
  private List<INDArray> cache; // blocks in (segment, block) order, once decided
  private boolean decided;

  /** Without a cache: directions are regenerated at every call. */
  Projections(int count, long seed, DataType type) {
    this(count, seed, type, 0);
  }

  Projections(int count, long seed, DataType type, long cacheBytes) {
    if (count < 1 || count > 1024) {
      throw new IllegalArgumentException("projections must be within 1..1024, got " + count);
    }
    this.count = count;
    this.seed = seed;
    this.type = type;
    this.cacheBytes = cacheBytes;
    this.rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
    this.out = new double[count];
  }

  /** Bytes the directions take when cached for d parameters of elementBytes each. */
  static long cachedBytes(int count, long d, int elementBytes) {
    return (long) count * d * elementBytes;
  }

  /** Whether the directions are kept (known after the first {@link #compute}). */
  boolean cached() {
    return cache != null;
  }

  int count() {
    return count;
  }

  /** The seed of block b of segment s: a SplitMix64 mix of the three. */
  static long blockSeed(long seed, int segment, long block) {
    long z = seed * 0x9E3779B97F4A7C15L + segment * 0xBF58476D1CE4E5B9L + block * 0x94D049BB133111EBL;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return (z ^ (z >>> 31)) & Long.MAX_VALUE;
  }

  /**
   * The k × n block of directions for coordinates [block·BLOCK, block·BLOCK + n) of a segment: a
   * view of the scratch buffer, valid until the next call.
   */
  INDArray directions(int segment, long block, int n) {
    if (scratch == null) {
      scratch = Nd4j.create(type, (long) count * BLOCK);
    }
    INDArray t = scratch.get(NDArrayIndex.interval(0, (long) count * n)).reshape('c', count, n);
    return generate(t, segment, block);
  }

  private INDArray generate(INDArray t, int segment, long block) {
    rng.setSeed(blockSeed(seed, segment, block));
    Nd4j.getExecutioner().exec(new GaussianDistribution(t, 0.0, 1.0), rng);
    return t;
  }

  /** The projections of w (segments are rank-1 views, the same shapes at every call); the array is reused by the next call. */
  double[] compute(List<INDArray> w) {
    if (!decided) {
      decided = true;
      if (cachedBytes(count, Vectors.length(w), type.width()) <= cacheBytes) {
        cache = new ArrayList<>();
        for (int s = 0; s < w.size(); s++) {
          long len = w.get(s).length();
          for (long b = 0, start = 0; start < len; b++, start += BLOCK) {
            int n = (int) Math.min(BLOCK, len - start);
            cache.add(generate(Nd4j.create(type, count, n), s, b));
          }
        }
      }
    }
    java.util.Arrays.fill(out, 0.0);
    int cached = 0;
    for (int s = 0; s < w.size(); s++) {
      INDArray seg = w.get(s);
      long len = seg.length();
      for (long b = 0, start = 0; start < len; b++, start += BLOCK) {
        int n = (int) Math.min(BLOCK, len - start);
        INDArray theta = cache != null ? cache.get(cached++) : directions(s, b, n);
        INDArray chunk = seg.get(NDArrayIndex.interval(start, start + n)).reshape(n, 1);
        INDArray r = theta.mmul(chunk);
        for (int j = 0; j < count; j++) {
          out[j] += r.getDouble(j, 0);
        }
      }
    }
    return out;
  }
}
