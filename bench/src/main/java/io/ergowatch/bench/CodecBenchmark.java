package io.ergowatch.bench;

import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameEncoder;
import io.ergowatch.protocol.Hello;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;

import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * EWP/1 codec cost per frame: a STEP with {@code values} entries encoded the agents' way
 * (straight from arrays) and decoded the monitor's way (one body at a time), and a HELLO.
 *
 * <pre>java -jar bench/target/ergowatch-bench.jar CodecBenchmark -prof gc</pre>
 */
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class CodecBenchmark {
  @Param({"20", "40"})
  int values;

  private int[] ids;
  private double[] vals;
  private ByteBuffer out;
  private ByteBuffer stepBody;
  private ByteBuffer helloBody;
  private final FrameDecoder decoder = new FrameDecoder();
  private Hello hello;
  private long seq;

  @Setup
  public void setup() {
    ids = new int[values];
    vals = new double[values];
    for (int i = 0; i < values; i++) {
      ids[i] = i;
      vals[i] = 1.0 / (i + 1);
    }
    out = ByteBuffer.allocate(1 << 16);
    ByteBuffer step = ByteBuffer.allocate(1 << 12);
    FrameEncoder.writeStep(step, 1, 1, 1, ids, vals, values);
    step.flip();
    step.getInt();
    stepBody = step.slice();
    List<String> series = new ArrayList<>();
    for (int i = 0; i < values; i++) {
      series.add("series_" + i);
    }
    hello = new Hello("resnet-lr0.1", "sweep-7", "", 42, 0, 1, io.ergowatch.protocol.Mode.REPLICATED, series, List.of());
    ByteBuffer h = ByteBuffer.wrap(FrameEncoder.encode(hello));
    h.getInt();
    helloBody = h.slice();
  }

  @Benchmark
  public int encodeStep() {
    out.clear();
    FrameEncoder.writeStep(out, ++seq, seq, seq, ids, vals, values);
    return out.position();
  }

  @Benchmark
  public Frame decodeStep() {
    return decoder.decode(stepBody.duplicate());
  }

  @Benchmark
  public Frame decodeHello() {
    return decoder.decode(helloBody.duplicate());
  }

  @Benchmark
  public int encodeHello() {
    out.clear();
    FrameEncoder.encode(hello, out);
    return out.position();
  }
}
