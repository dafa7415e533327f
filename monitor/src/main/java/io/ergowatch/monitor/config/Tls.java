package io.ergowatch.monitor.config;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;

/**
 * The server TLS context for EWP/1 and HTTP, from a PKCS#12 (or JKS) key store holding the
 * monitor's key and certificate chain. Keys: {@code tls-keystore} and
 * {@code tls-keystore-password} (better given as {@code ERGOWATCH_TLS_KEYSTORE_PASSWORD}).
 */
public final class Tls {
  private Tls() {}

  public static SslContext serverContext(Path keystore, String password) {
    try (InputStream in = Files.newInputStream(keystore)) {
      KeyStore ks = KeyStore.getInstance(keystore.toString().endsWith(".jks") ? "JKS" : "PKCS12");
      ks.load(in, password.toCharArray());
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password.toCharArray());
      return SslContextBuilder.forServer(kmf).build();
    } catch (java.nio.file.NoSuchFileException e) {
      throw new ConfigException("config key 'tls-keystore': " + keystore + " does not exist");
    } catch (Exception e) {
      throw new ConfigException("config key 'tls-keystore': cannot load " + keystore + " (" + e.getMessage()
          + "); check tls-keystore-password");
    }
  }
}
