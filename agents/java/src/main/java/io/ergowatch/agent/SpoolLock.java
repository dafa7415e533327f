package io.ergowatch.agent;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps a second live agent off a spool: an exclusive OS lock ({@link FileLock}) on the file
 * {@code lock} in the spool's directory, held from {@code build()} until the agent's network
 * thread ends. The OS releases it when the process dies, however it dies, so a crashed agent
 * never blocks the next one. The file holds one line naming the holder (pid, session, since),
 * quoted in the error a second agent gets. The file itself is never deleted: deleting a lock
 * file races with an agent that just opened it.
 *
 * <p>Within one JVM the directories held are also kept in a map (with their holder line): OS
 * file locks belong to the process, and on Linux closing any descriptor of the file (as a
 * refused second attempt, or reading the holder line, would) releases the process's lock, so a
 * second agent of the same process must be refused before it opens the file. That map is this
 * class's only state shared between agents.
 */
final class SpoolLock implements AutoCloseable {
  static final String FILE = "lock";
  private static final Map<Path, String> HELD = new ConcurrentHashMap<>();

  private final Path key;
  private final RandomAccessFile file;
  private final FileLock lock;

  private SpoolLock(Path key, RandomAccessFile file, FileLock lock) {
    this.key = key;
    this.file = file;
    this.lock = lock;
  }

  /**
   * Takes the lock of a spool directory (which must exist).
   *
   * @throws IllegalStateException if another live agent holds it
   */
  static SpoolLock acquire(Path dir, String run, int rank, long session) throws IOException {
    Path key = dir.toRealPath();
    Path path = key.resolve(FILE);
    String line = "pid " + ProcessHandle.current().pid() + ", session " + Long.toHexString(session) + ", since "
        + Instant.now();
    String inThisProcess = HELD.putIfAbsent(key, line);
    if (inThisProcess != null) {
      throw inUse(dir, run, rank, inThisProcess);
    }
    RandomAccessFile file = null;
    try {
      file = new RandomAccessFile(path.toFile(), "rw");
      FileLock lock;
      try {
        lock = file.getChannel().tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        String holder = holder(path);
        file.close();
        file = null;
        throw inUse(dir, run, rank, holder);
      }
      file.setLength(0);
      file.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      return new SpoolLock(key, file, lock);
    } catch (IOException | RuntimeException e) {
      if (file != null) {
        try {
          file.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      HELD.remove(key);
      throw e;
    }
  }

  private static IllegalStateException inUse(Path dir, String run, int rank, String holder) {
    return new IllegalStateException("spool " + dir + " of run " + run + " rank " + rank
        + " is in use by another live agent (" + holder + "): two agents cannot share the spool of one"
        + " (run, rank); stop the other agent or give this one another spool directory");
  }

  private static String holder(Path lockFile) {
    try {
      String s = Files.readString(lockFile, StandardCharsets.UTF_8).strip();
      return s.isEmpty() ? "holder unknown" : s;
    } catch (IOException | RuntimeException e) {
      return "holder unknown";
    }
  }

  /** Releases the lock; idempotent. */
  @Override
  public void close() {
    try {
      if (lock.isValid()) {
        lock.release();
      }
      file.close();
    } catch (IOException e) {
      // closing the file releases the lock anyway
    } finally {
      HELD.remove(key);
    }
  }
}
