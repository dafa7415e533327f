package io.ergowatch.monitor.ingest;

import io.ergowatch.monitor.pipeline.Pipeline;
import io.ergowatch.monitor.pipeline.Registration;
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

  /** Turns the inbound objects (frame bodies, or a framing error) into the frames to send back. */
  Flux<Frame> run(Flux<?> inbound) {
    Flux<Frame> frames = inbound.map(this::decode).takeUntilOther(drain.asMono());
    return frames
        .switchOnFirst((first, all) -> {
          if (!first.hasValue()) {
            return all.thenMany(Flux.<Frame>empty());
          }
          Frame f = first.get();
          if (!(f instanceof Hello)) {
            return Flux.error(new FrameException(ErrorCode.PROTOCOL_ORDER,
                "expected HELLO as the first frame, got " + f.type()));
          }
          Hello hello = (Hello) f;
          admit(hello);
          return pipeline.open(hello, connection).flatMapMany(reg -> stream(reg, all.skip(1)));
        })
        .onErrorResume(this::reject);
  }

  private Flux<Frame> stream(Registration reg, Flux<Frame> rest) {
    registration = reg;
    Hello h = reg.hello();
    lastSeq = reg.welcomeAckedSeq();
    nSeries = h.series().size();
    log.info("connected {}: run {} rank {}/{} session {} ({} series), resuming after seq {}",
        peer, h.run(), h.rank(), h.world(), Long.toUnsignedString(h.session(), 16), nSeries, lastSeq);
    Flux<Step> steps = rest.handle(this::checkInOrder);
    // ACKs follow durability, not arrival: the record log commits on its own schedule, so the
    // ACK is a tick that reports the durable seq whenever it moved (and once more at the end).
    Mono<Void> ingested = pipeline.ingest(reg, steps).then().cache();
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

  private Frame decode(Object o) {
    if (o instanceof FrameException) {
      throw (FrameException) o;
    }
    ByteBuf body = (ByteBuf) o;
    Frame f = decoder.decode(body.nioBuffer());
    metrics.frame(f.type());
    return f;
  }

  /** Connection-level rules after HELLO: series ids, seq order, frame types. */
  private void checkInOrder(Frame f, SynchronousSink<Step> sink) {
    switch (f.type()) {
      case STEP:
        Step s = (Step) f;
        int max = s.maxSeriesId();
        if (max >= nSeries) {
          sink.error(new FrameException(ErrorCode.BAD_FRAME, "STEP seq " + s.seq() + " names series id " + max
              + " but HELLO declared " + nSeries + " series (ids 0.." + (nSeries - 1) + ")"));
          return;
        }
        if (s.seq() <= lastSeq) {
          pipeline.countDuplicate(); // a resend: silently dropped
          return;
        }
        if (overRate()) {
          sink.error(new FrameException(ErrorCode.OVERLOADED, "more than " + settings.limits().maxRecordsPerSecond()
              + " records in one second on this connection (max-records-per-second); slow down or batch steps"));
          return;
        }
        if (s.seq() != lastSeq + 1) {
          sink.error(new FrameException(ErrorCode.PROTOCOL_ORDER, "seq " + s.seq() + " after " + lastSeq
              + ": seq must grow by exactly 1 per STEP (records " + (lastSeq + 1) + ".." + (s.seq() - 1) + " missing)"));
          return;
        }
        lastSeq = s.seq();
        sink.next(s);
        return;
      case HEARTBEAT:
        return;
      case BYE:
        bye = (Bye) f;
        sink.complete();
        return;
      case HELLO:
        sink.error(new FrameException(ErrorCode.PROTOCOL_ORDER, "a second HELLO on one connection"));
        return;
      default:
        sink.error(new FrameException(ErrorCode.PROTOCOL_ORDER,
            f.type() + " is a monitor-to-agent frame; agents may not send it"));
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
