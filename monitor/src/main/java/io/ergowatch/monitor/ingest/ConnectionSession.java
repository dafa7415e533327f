package io.ergowatch.monitor.ingest;

import io.ergowatch.monitor.pipeline.Pipeline;
import io.ergowatch.monitor.pipeline.Registration;
import io.ergowatch.monitor.pipeline.StepBatch;
import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.ErrorFrame;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameException;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Step;
import io.ergowatch.protocol.Welcome;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.publisher.SynchronousSink;

/**
 * The EWP/1 conversation of one connection: HELLO → WELCOME, then STEPs checked for order
 * and handed to the pipeline, periodic cumulative ACKs, a final ACK after BYE, and an ERROR
 * (then close) for anything that breaks the protocol. Frames are decoded on the connection's
 * event loop; the analytics run on the run's lane.
 *
 * <p>It never lets one connection's failure reach another: every error ends in this
 * connection's ERROR frame and close.
 */
final class ConnectionSession {
  private static final Logger log = LoggerFactory.getLogger("io.ergowatch.monitor.ingest");

  private final Disposable connection;
  private final String peer;
  private final Pipeline pipeline;
  private final IngestMetrics metrics;
  private final IngestSettings settings;
  private final FrameDecoder decoder = new FrameDecoder();
  private final TokenAuth auth;
  private long rateWindowStart;
  private int rateCount;
  private final Sinks.Empty<Void> drain = Sinks.empty();
  private volatile Registration registration;
  private volatile boolean rejected;
  private long lastSeq;
  private int nSeries;
  private Bye bye;

  ConnectionSession(Disposable connection, String peer, Pipeline pipeline, IngestMetrics metrics, IngestSettings settings,
      TokenAuth auth) {
    this.auth = auth;
    this.connection = connection;
    this.peer = peer;
    this.pipeline = pipeline;
    this.metrics = metrics;
    this.settings = settings;
  }

  /**
   * Turns the inbound objects (batches of frames, or a framing error) into the frames to send
   * back.
   */
  Flux<Frame> run(Flux<?> inbound) {
    Flux<DecodedFrames> batches = inbound.map(this::decode).takeUntilOther(drain.asMono());
    return batches
        .switchOnFirst((first, all) -> {
          if (!first.hasValue()) {
            return all.thenMany(Flux.<Frame>empty());
          }
          DecodedFrames b = first.get();
          if (b.count == 0) {
            return Flux.error(b.error);
          }
          Frame f = b.frames[0];
          if (!(f instanceof Hello)) {
            return Flux.error(new FrameException(ErrorCode.PROTOCOL_ORDER,
                "expected HELLO as the first frame, got " + f.type()));
          }
          Hello hello = (Hello) f;
          admit(hello);
          Flux<DecodedFrames> rest = all.skip(1);
          DecodedFrames tail = b.afterFirst();
          Flux<DecodedFrames> after = tail == null ? rest : rest.startWith(tail);
          return pipeline.open(hello, connection).flatMapMany(reg -> stream(reg, after));
        })
        .onErrorResume(this::reject);
  }

  private Flux<Frame> stream(Registration reg, Flux<DecodedFrames> rest) {
    registration = reg;
    Hello h = reg.hello();
    lastSeq = reg.welcomeAckedSeq();
    nSeries = h.series().size();
    log.info("connected {}: run {} rank {}/{} session {} ({} series), resuming after seq {}",
        peer, h.run(), h.rank(), h.world(), Long.toUnsignedString(h.session(), 16), nSeries, lastSeq);
    Flux<StepBatch> steps = rest.handle(this::checkInOrder);
    // ACKs follow durability, not arrival: the record log commits on its own schedule, so the
    // ACK is a tick that reports the durable seq whenever it moved (and once more at the end).
    Mono<Void> ingested = pipeline.ingestBatches(reg, steps, FrameBatch.MAX_FRAMES).then().cache();
    Flux<Frame> ticks = Flux.interval(settings.ackInterval())
        .map(t -> reg.ackedSeq())
        .distinctUntilChanged()
        .filter(seq -> seq > 0)
        .map(seq -> (Frame) new Ack(seq))
        .takeUntilOther(ingested.onErrorResume(e -> Mono.empty()));
    Flux<Frame> acks = Flux.merge(ingested.then(Mono.<Frame>empty()), ticks);
    Mono<Frame> end = Mono.defer(() -> {
      Mono<Void> finish = bye == null ? pipeline.commit(reg) : pipeline.bye(reg, bye);
      return finish.then(Mono.fromSupplier(() -> new Ack(reg.ackedSeq())));
    });
    return Flux.concat(Mono.just(new Welcome(reg.welcomeAckedSeq(), settings.maxFrame())), acks, end);
  }

  /** Checks that need no run state: the token and the label count. */
  private void admit(Hello hello) {
    if (auth != null) {
      auth.check(hello.token(), hello.job());
    }
    Limits limits = settings.limits();
    if (hello.labels().size() > limits.maxLabels()) {
      throw new FrameException(ErrorCode.LIMIT_EXCEEDED, "HELLO carries " + hello.labels().size()
          + " labels, more than the limit of " + limits.maxLabels() + " (max-labels)");
    }
  }

  /** Records per second of this connection, in one-second windows of the monotonic clock. */
  private boolean overRate() {
    int max = settings.limits().maxRecordsPerSecond();
    if (max <= 0) {
      return false;
    }
    long now = System.nanoTime();
    if (now - rateWindowStart >= 1_000_000_000L) {
      rateWindowStart = now;
      rateCount = 0;
    }
    return ++rateCount > max;
  }

  /**
   * Decodes a batch of frames on the event loop; a frame that does not decode ends the batch
   * with its error after the frames before it (they are still handled, in order).
   */
  private DecodedFrames decode(Object o) {
    if (o instanceof FrameException) {
      return new DecodedFrames(new Frame[0], 0, (FrameException) o, null, null, null);
    }
    FrameBatch batch = (FrameBatch) o;
    ByteBuf buf = batch.content();
    ByteBuffer all = buf.nioBuffer().slice(); // offsets from 0, as in a copy of the readable bytes
    int end = all.limit();
    int n = batch.frames();
    Frame[] frames = new Frame[n];
    int[] starts = new int[n];
    int pos = all.position();
    for (int i = 0; i < n; i++) {
      int length = all.getInt(pos);
      all.limit(pos + Codec.LENGTH_BYTES + length).position(pos + Codec.LENGTH_BYTES);
      try {
        frames[i] = decoder.decode(all);
      } catch (FrameException e) {
        return new DecodedFrames(frames, i, e, buf, all, starts);
      }
      metrics.frame(frames[i].type());
      starts[i] = pos;
      pos += Codec.LENGTH_BYTES + length;
      all.limit(end);
    }
    return new DecodedFrames(frames, n, null, buf, all, starts);
  }

  /**
   * Frames decoded from one batch, and the error that ended it early, if one did; with the
   * received bytes they came from (valid while the batch is being handled: Reactor Netty frees
   * them after) and where each frame starts in {@code view}.
   */
  private static final class DecodedFrames {
    final Frame[] frames;
    final int count;
    final FrameException error;
    final ByteBuf buf;
    final ByteBuffer view;
    final int[] starts;
    private int from;

    DecodedFrames(Frame[] frames, int count, FrameException error, ByteBuf buf, ByteBuffer view, int[] starts) {
      this.frames = frames;
      this.count = count;
      this.error = error;
      this.buf = buf;
      this.view = view;
      this.starts = starts;
    }

    /**
     * The same batch without its first frame (HELLO); null when nothing follows it. It is
     * handled only once the run is registered, after Reactor Netty has freed the received
     * bytes, so it carries a copy of them (rare: an agent that does not wait for WELCOME).
     */
    DecodedFrames afterFirst() {
      if (count <= 1 && error == null) {
        return null;
      }
      ByteBuf copy = Unpooled.copiedBuffer(buf);
      DecodedFrames tail = new DecodedFrames(frames, count, error, copy, copy.nioBuffer().slice(), starts);
      tail.from = 1;
      return tail;
    }

    /** A batch for the lane that owns a reference to the received bytes until it is applied. */
    StepBatch stepBatch(int capacity) {
      buf.retain();
      return new StepBatch(capacity, view, buf::release);
    }
  }

  /**
   * Connection-level rules after HELLO, frame by frame: series ids, seq order, frame types. The
   * STEPs that pass go on as one batch; a frame that breaks a rule ends the stream with its
   * error after the batch of the STEPs before it.
   */
  private void checkInOrder(DecodedFrames in, SynchronousSink<StepBatch> sink) {
    StepBatch out = null;
    for (int i = in.from; i < in.count; i++) {
      Frame f = in.frames[i];
      switch (f.type()) {
        case STEP:
          Step s = (Step) f;
          FrameException broken = checkStep(s);
          if (broken != null) {
            end(sink, out, broken);
            return;
          }
          if (s.seq() <= lastSeq) {
            pipeline.countDuplicate(); // a resend: silently dropped
            break;
          }
          lastSeq = s.seq();
          if (out == null) {
            out = in.stepBatch(in.count - i);
          }
          out.add(s, in.starts[i]);
          break;
        case HEARTBEAT:
          break;
        case BYE:
          bye = (Bye) f;
          end(sink, out, null);
          return;
        case HELLO:
          end(sink, out, new FrameException(ErrorCode.PROTOCOL_ORDER, "a second HELLO on one connection"));
          return;
        default:
          end(sink, out, new FrameException(ErrorCode.PROTOCOL_ORDER,
              f.type() + " is a monitor-to-agent frame; agents may not send it"));
          return;
      }
    }
    if (in.error != null) {
      end(sink, out, in.error);
    } else if (out != null) {
      sink.next(out);
    }
  }

  /** The error a STEP's ids, seq or rate deserve; null when it may go on (or is a resend). */
  private FrameException checkStep(Step s) {
    int max = s.maxSeriesId();
    if (max >= nSeries) {
      return new FrameException(ErrorCode.BAD_FRAME, "STEP seq " + s.seq() + " names series id " + max
          + " but HELLO declared " + nSeries + " series (ids 0.." + (nSeries - 1) + ")");
    }
    if (s.seq() <= lastSeq) {
      return null;
    }
    if (overRate()) {
      return new FrameException(ErrorCode.OVERLOADED, "more than " + settings.limits().maxRecordsPerSecond()
          + " records in one second on this connection (max-records-per-second); slow down or batch steps");
    }
    if (s.seq() != lastSeq + 1) {
      return new FrameException(ErrorCode.PROTOCOL_ORDER, "seq " + s.seq() + " after " + lastSeq
          + ": seq must grow by exactly 1 per STEP (records " + (lastSeq + 1) + ".." + (s.seq() - 1) + " missing)");
    }
    return null;
  }

  /** Hands on the STEPs checked so far, then completes (BYE, error null) or fails. */
  private static void end(SynchronousSink<StepBatch> sink, StepBatch checked, FrameException error) {
    if (checked != null) {
      sink.next(checked);
    }
    if (error == null) {
      sink.complete();
    } else {
      sink.error(error);
    }
  }

  private Flux<Frame> reject(Throwable t) {
    FrameException e;
    if (t instanceof FrameException) {
      e = (FrameException) t;
      log.info("rejected {}{}: {} {}", peer, describe(), e.reason(), e.getMessage());
    } else {
      e = new FrameException(ErrorCode.INTERNAL, "internal error: " + t.getClass().getSimpleName());
      log.error("internal error on connection {}{}", peer, describe(), t);
    }
    metrics.rejected(e.reason());
    rejected = true;
    return Flux.just(ErrorFrame.of(e));
  }

  private String describe() {
    Registration r = registration;
    return r == null ? "" : " (run " + r.hello().run() + " rank " + r.hello().rank() + ")";
  }

  /** True once the session has answered with an ERROR frame (the connection then closes). */
  boolean rejected() {
    return rejected;
  }

  /** Stops reading: what was read is applied and acknowledged, then the connection closes. */
  void drain() {
    drain.tryEmitEmpty();
  }

  /** The connection is gone. */
  void closed() {
    Registration r = registration;
    if (r != null) {
      pipeline.closed(r);
    }
  }
}
