package io.sluice.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.sluice.config.ConfigException;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * TLS towards PostgreSQL (server_tls_*): whether Sluice asks for it, whether it must have it,
 * what it checks of the server's certificate, and the certificate it shows. Immutable and
 * comparable ({@link #equals}): RELOAD replaces a pool's servers only when this changed.
 */
public final class ServerTls {
    private static final List<String> FINGERPRINTED = List.of("_sslmode", "_key_file", "_cert_file", "_ca_file",
            "_protocols", "_ciphers");

    private final SslMode mode;
    private final SslContext context;
    private final String fingerprint;

    private ServerTls(SslMode mode, SslContext context, String fingerprint) {
        this.mode = mode;
        this.context = context;
        this.fingerprint = fingerprint;
    }

    /** Plaintext to every server (server_tls_sslmode disable). */
    public static ServerTls disabled() {
        return new ServerTls(SslMode.DISABLE, null, "");
    }

    static ServerTls load(TlsOptions o) throws ConfigException {
        var s = o.settings();
        o.requireDefault("server_tls13_ciphers", "TLS 1.3 cipher suites are the TLS engine's own");
        SslMode mode = SslMode.parse(s.value("server_tls_sslmode"));
        if (mode == SslMode.DISABLE) {
            return disabled();
        }
        SslContextBuilder b = SslContextBuilder.forClient();
        Path key = o.file("server_tls_key_file");
        Path cert = o.file("server_tls_cert_file");
        if ((key == null) != (cert == null)) {
            throw o.error(key == null ? "server_tls_key_file" : "server_tls_cert_file",
                    "server_tls_cert_file and server_tls_key_file go together: set both or neither");
        }
        if (key != null) {
            java.security.PrivateKey privateKey = o.key("server_tls_key_file", key);
            java.security.cert.X509Certificate[] chain = o.certificates("server_tls_cert_file", cert);
            o.checkPair("server_tls_key_file", key, privateKey, chain);
            b.keyManager(privateKey, chain);
        }
        Path ca = o.file("server_tls_ca_file");
        if (mode.atLeast(SslMode.VERIFY_CA)) {
            if (ca != null) {
                b.trustManager(o.certificates("server_tls_ca_file", ca));
            }
            // Without a CA file, the JDK's trusted roots (as libtls takes the system's).
        } else {
            // prefer, allow and require encrypt without checking who answers, as in libpq and
            // PgBouncer: the verify modes are for that.
            b.trustManager(InsecureTrustManagerFactory.INSTANCE);
        }
        // Netty 4.2 checks the host name by default; only verify-full asks for it.
        b.endpointIdentificationAlgorithm(mode == SslMode.VERIFY_FULL ? "HTTPS" : null);
        o.apply(b, "server_tls");
        // PostgreSQL 17 checks it on direct TLS only; older servers ignore the extension.
        b.applicationProtocolConfig(TlsOptions.ALPN_POSTGRESQL);
        try {
            return new ServerTls(mode, b.build(), o.fingerprint("server_tls", FINGERPRINTED));
        } catch (SSLException | IllegalArgumentException e) {
            throw o.error("server_tls_sslmode", "TLS setup failed: " + ClientTls.rootMessage(e));
        }
    }

    public SslMode mode() {
        return mode;
    }

    /** Whether an SSLRequest is sent to TCP servers. */
    public boolean requested() {
        return context != null;
    }

    /** Whether a server that answers 'N' is given up on ("server refused SSL"). */
    public boolean required() {
        return mode.atLeast(SslMode.REQUIRE);
    }

    /** A handler for one server connection's handshake; {@code host} is checked in verify-full. */
    public SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
        return context.newHandler(alloc, host, port);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ServerTls other && mode == other.mode && fingerprint.equals(other.fingerprint);
    }

    @Override
    public int hashCode() {
        return fingerprint.hashCode();
    }

    @Override
    public String toString() {
        return "server_tls_sslmode=" + mode.configName();
    }
}
