package io.ergowatch.agent;

import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.ErrorFrame;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameException;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.concurrent.locks.LockSupport;

/**
 * One TCP connection to the monitor: a blocking {@link Socket} written by the network thread
 * and read by a reader thread of its own, which turns ACK and ERROR frames into fields the
 * network thread polls.
 *
 * <p>The first failure (I/O error, EOF, ERROR frame, bad frame, stalled write, or a {@link
 * #fail} from any thread) is kept as the reason, closes the socket and wakes the network
 * thread; later ones are ignored. Never logs: the network thread reports the reason once.
 */
final class Connection {
  private final Socket socket;
  private final String address;
  private final OutputStream out;
  private final BufferedInputStream in;
  private final Thread owner;
  private final FrameDecoder decoder = new FrameDecoder();
  private volatile long acked = -1;
  private volatile String failure;
  private volatile ErrorFrame error;
  /** nanoTime when the pending write started (forced odd, so never 0), or 0. */
  private volatile long writeStarted;
  private Thread reader;

  private Connection(Socket socket, String address, Thread owner) throws IOException {
    this.socket = socket;
    this.address = address;
    this.owner = owner;
    this.out = socket.getOutputStream();
    this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
  }

  /**
   * Connects with TCP_NODELAY and a read timeout. {@code socket} is created by the caller so
   * that another thread can close it to abort a slow connect.
   */
  static Connection open(Socket socket, InetSocketAddress target, String address, int connectTimeoutMs,
      int readTimeoutMs, Thread owner) throws IOException {
    return open(socket, target, address, connectTimeoutMs, readTimeoutMs, owner, null);
  }

  /**
   * As above; with {@code tls} the connected socket is wrapped in TLS and the handshake done
   * here, with host-name verification (closing {@code socket} still aborts it).
   */
  static Connection open(Socket socket, InetSocketAddress target, String address, int connectTimeoutMs,
      int readTimeoutMs, Thread owner, javax.net.ssl.SSLSocketFactory tls) throws IOException {
    try {
      socket.setTcpNoDelay(true);
      socket.setKeepAlive(true);
      socket.setSoTimeout(readTimeoutMs);
      socket.connect(target, connectTimeoutMs);
      if (tls != null) {
        javax.net.ssl.SSLSocket ssl = (javax.net.ssl.SSLSocket) tls.createSocket(socket, target.getHostString(),
            target.getPort(), true);
        javax.net.ssl.SSLParameters params = ssl.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        ssl.setSSLParameters(params);
        ssl.setSoTimeout(readTimeoutMs);
        ssl.startHandshake();
        return new Connection(ssl, address, owner);
      }
      return new Connection(socket, address, owner);
    } catch (IOException e) {
      closeQuietly(socket);
      throw e;
    }
  }

  /** Sends the HELLO and blocks (read timeout) for the monitor's answer. */
  Frame handshake(byte[] hello) throws IOException {
    write(hello, 0, hello.length);
    out.flush();
    return decoder.read(in, Codec.DEFAULT_MAX_FRAME);
  }

  /** Starts reading ACKs; {@code tickMs} bounds how long a blocked write goes unnoticed. */
  void startReader(String threadName, int tickMs, long writeStallNanos) throws IOException {
    socket.setSoTimeout(tickMs);
    reader = new Thread(() -> readLoop(writeStallNanos), threadName);
    reader.setDaemon(true);
    reader.start();
  }

  private void readLoop(long writeStallNanos) {
    try {
      while (failure == null) {
        in.mark(1);
        int first;
        try {
          first = in.read();
        } catch (SocketTimeoutException e) {
          long started = writeStarted;
          if (started != 0 && System.nanoTime() - started > writeStallNanos) {
            fail("a write to the monitor was blocked for " + writeStallNanos / 1_000_000 + " ms");
          }
          continue;
        }
        if (first < 0) {
          fail("monitor closed the connection");
          return;
        }
        in.reset();
        Frame frame;
        try {
          frame = decoder.read(in, Codec.DEFAULT_MAX_FRAME);
        } catch (SocketTimeoutException e) {
          fail("monitor stalled inside a frame");
          return;
        }
        if (frame instanceof Ack a) {
          if (a.ackedSeq() > acked) {
            acked = a.ackedSeq();
            LockSupport.unpark(owner);
          }
        } else if (frame instanceof ErrorFrame e) {
          error = e;
          fail("monitor sent ERROR " + e.code() + ": " + e.message());
        } else {
          fail("monitor sent an unexpected " + frame.type() + " frame");
        }
      }
    } catch (FrameException e) {
      fail("bad frame from the monitor: " + e);
    } catch (IOException e) {
      fail(describe(e));
    }
  }

  /** Writes bytes, blocking; the reader thread breaks a write blocked for too long. */
  void write(byte[] bytes, int offset, int length) throws IOException {
    writeStarted = System.nanoTime() | 1L;
    try {
      out.write(bytes, offset, length);
    } catch (IOException e) {
      fail(describe(e));
      throw e;
    } finally {
      writeStarted = 0;
    }
  }

  /** Ends the connection (any thread); the first reason given is kept. */
  void fail(String reason) {
    if (failure == null) {
      synchronized (this) {
        if (failure == null) {
          failure = reason;
        }
      }
    }
    closeQuietly(socket);
    LockSupport.unpark(owner);
  }

  boolean failed() {
    return failure != null;
  }

  String failure() {
    return failure;
  }

  /** The ERROR frame the monitor sent, or null. */
  ErrorFrame error() {
    return error;
  }

  /** The highest ACK received on this connection, or -1. */
  long acked() {
    return acked;
  }

  String address() {
    return address;
  }

  /** Closes the socket and waits briefly for the reader thread. */
  void close() {
    if (failure == null) {
      fail("closed by the agent");
    }
    closeQuietly(socket);
    Thread r = reader;
    if (r != null && r != Thread.currentThread()) {
      try {
        r.join(1000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** A one-line description of an expected network failure (no stack trace). */
  static String describe(IOException e) {
    if (e instanceof EOFException) {
      return "monitor closed the connection";
    }
    if (e instanceof SocketTimeoutException) {
      return "timed out (" + e.getMessage() + ")";
    }
    if (e instanceof UnknownHostException) {
      return "unknown host " + e.getMessage();
    }
    if (e instanceof ConnectException) {
      return e.getMessage() == null ? "connection refused" : e.getMessage();
    }
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }

  static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing a socket that failed: nothing left to do
    }
  }
}
