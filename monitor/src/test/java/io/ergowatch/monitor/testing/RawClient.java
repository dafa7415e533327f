package io.ergowatch.monitor.testing;

import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameEncoder;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;

/** A bare EWP/1 client on a blocking socket, written only from the spec: for server tests. */
public final class RawClient implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final FrameDecoder decoder = new FrameDecoder();

  public RawClient(int port) throws IOException {
    this(port, null);
  }

  /** A client over TLS when {@code tls} is not null. */
  public RawClient(int port, javax.net.ssl.SSLSocketFactory tls) throws IOException {
    socket = tls == null ? new Socket() : tls.createSocket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    socket.setSoTimeout(10_000);
    socket.setTcpNoDelay(true);
    in = new BufferedInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  public RawClient send(Frame... frames) throws IOException {
    for (Frame f : frames) {
      out.write(FrameEncoder.encode(f));
    }
    out.flush();
    return this;
  }

  public RawClient sendBytes(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
    return this;
  }

  /** The next frame from the monitor. */
  public Frame read() throws IOException {
    return decoder.read(in, Codec.DEFAULT_MAX_FRAME);
  }

  /** Reads frames until one of the given type arrives. */
  @SuppressWarnings("unchecked")
  public <T extends Frame> T readUntil(Class<T> type) throws IOException {
    while (true) {
      Frame f = read();
      if (type.isInstance(f)) {
        return (T) f;
      }
    }
  }

  /** True when the monitor has closed the connection (EOF within the socket timeout). */
  public boolean closedByPeer() throws IOException {
    try {
      while (true) {
        read();
      }
    } catch (EOFException e) {
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return e.getMessage() != null && e.getMessage().contains("reset");
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
