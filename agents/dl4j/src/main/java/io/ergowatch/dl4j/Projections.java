package io.ergowatch.dl4j;

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
 * block.
 */
final class Projections {
  /** Coordinates per block (per direction). */
  static final int BLOCK = 1 << 15;

  private final int count;
  private final long seed;
  private final INDArray scratch;
  private final Random rng;
  private final double[] out;

  Projections(int count, long seed, DataType type) {
    if (count < 1 || count > 1024) {
      throw new IllegalArgumentException("projections must be within 1..1024, got " + count);
    }
    this.count = count;
    this.seed = seed;
    this.scratch = Nd4j.create(type, (long) count * BLOCK);
    this.rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
    this.out = new double[count];
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
    INDArray t = scratch.get(NDArrayIndex.interval(0, (long) count * n)).reshape('c', count, n);
    rng.setSeed(blockSeed(seed, segment, block));
    Nd4j.getExecutioner().exec(new GaussianDistribution(t, 0.0, 1.0), rng);
    return t;
  }

  /** The projections of w (segments are rank-1 views); the array is reused by the next call. */
  double[] compute(List<INDArray> w) {
    java.util.Arrays.fill(out, 0.0);
    for (int s = 0; s < w.size(); s++) {
      INDArray seg = w.get(s);
      long len = seg.length();
      for (long b = 0, start = 0; start < len; b++, start += BLOCK) {
        int n = (int) Math.min(BLOCK, len - start);
        INDArray theta = directions(s, b, n);
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
