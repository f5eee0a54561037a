package io.sluice.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.sluice.config.AuthType;
import io.sluice.config.ConfigException;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * TLS towards clients (client_tls_*): whether a client may or must use it, and the context
 * that accepts its handshakes. Immutable: RELOAD builds a new one for connections accepted
 * after it, and the ones already encrypted keep theirs.
 */
public final class ClientTls {
    /** The ALPN protocol name PostgreSQL 17 registered; a direct TLS connection must offer it. */
    public static final String ALPN = "postgresql";

    private static final List<String> FINGERPRINTED = List.of("_sslmode", "_key_file", "_cert_file", "_ca_file",
            "_protocols", "_ciphers");

    private final SslMode mode;
    private final SslContext context;
    private final String fingerprint;

    private ClientTls(SslMode mode, SslContext context, String fingerprint) {
        this.mode = mode;
        this.context = context;
        this.fingerprint = fingerprint;
    }

    /** No TLS to clients: SSLRequest answered 'N'. */
    public static ClientTls disabled() {
        return new ClientTls(SslMode.DISABLE, null, "");
    }

    static ClientTls load(TlsOptions o) throws ConfigException {
        var s = o.settings();
        o.requireDefault("client_tls13_ciphers", "TLS 1.3 cipher suites are the TLS engine's own");
        o.requireDefault("client_tls_dheparams", "the TLS engine chooses the key exchange");
        o.requireDefault("client_tls_ecdhcurve", "the TLS engine chooses the key exchange");
        SslMode mode = SslMode.parse(s.value("client_tls_sslmode"));
        AuthType auth = s.authType();
        if (mode == SslMode.DISABLE) {
            if (auth == AuthType.CERT) {
                throw o.error("auth_type", "auth_type cert needs client_tls_sslmode verify-full"
                        + " (and client_tls_ca_file)");
            }
            return disabled();
        }
        Path key = o.file("client_tls_key_file");
        Path cert = o.file("client_tls_cert_file");
        if (key == null || cert == null) {
            throw o.error("client_tls_sslmode", "to allow TLS connections from clients (" + mode.configName()
                    + "), client_tls_key_file and client_tls_cert_file must be set");
        }
        Path ca = o.file("client_tls_ca_file");
        if (auth == AuthType.CERT && (mode != SslMode.VERIFY_FULL || ca == null)) {
            throw o.error("auth_type", "auth_type cert needs client_tls_sslmode verify-full and client_tls_ca_file");
        }
        if (mode == SslMode.VERIFY_FULL && ca == null) {
            throw o.error("client_tls_sslmode", "verify-full needs client_tls_ca_file");
        }
        java.security.PrivateKey privateKey = o.key("client_tls_key_file", key);
        java.security.cert.X509Certificate[] chain = o.certificates("client_tls_cert_file", cert);
        o.checkPair("client_tls_key_file", key, privateKey, chain);
        SslContextBuilder b = SslContextBuilder.forServer(privateKey, chain);
        if (ca != null) {
            b.trustManager(o.certificates("client_tls_ca_file", ca));
        }
        // verify-ca and verify-full: a client without a certificate the CA signed is refused in
        // the handshake (PgBouncer's verify_client). Below them a certificate is asked for where a
        // CA can check it, for hba's cert method, and never required.
        b.clientAuth(mode.atLeast(SslMode.VERIFY_CA) ? ClientAuth.REQUIRE
                : ca != null ? ClientAuth.OPTIONAL : ClientAuth.NONE);
        o.apply(b, "client_tls");
        // Offered, not required: a client that sent SSLRequest may offer no ALPN at all; a direct
        // TLS client must have chosen "postgresql" (checked after the handshake).
        b.applicationProtocolConfig(TlsOptions.ALPN_POSTGRESQL);
        try {
            return new ClientTls(mode, b.build(), o.fingerprint("client_tls", FINGERPRINTED));
        } catch (SSLException | IllegalArgumentException e) {
            throw o.error("client_tls_sslmode", "TLS setup failed: " + rootMessage(e));
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
    }

    public SslMode mode() {
        return mode;
    }

    /** Whether an SSLRequest is answered 'S' (and a direct TLS handshake accepted). */
    public boolean accepts() {
        return context != null;
    }

    /** Whether a TCP client must use TLS (require and the verify modes); Unix sockets never must. */
    public boolean required() {
        return mode.atLeast(SslMode.REQUIRE);
    }

    /** A handler for one client's handshake, in server mode. */
    public SslHandler newHandler(ByteBufAllocator alloc) {
        return context.newHandler(alloc);
    }

    /** Same settings and same file contents as {@code other}. */
    public boolean sameAs(ClientTls other) {
        return other != null && mode == other.mode && fingerprint.equals(other.fingerprint);
    }
}
