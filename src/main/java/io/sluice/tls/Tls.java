package io.sluice.tls;

import io.sluice.config.Config;
import io.sluice.config.ConfigException;

/**
 * The TLS a config asks for, on both sides, built (files read, keys parsed) when the config is
 * loaded: a setting or file Sluice cannot use stops start-up, or fails a RELOAD and keeps the
 * running TLS, rather than leaving a connection less protected than configured.
 */
public record Tls(ClientTls clients, ServerTls servers) {
    public static Tls load(Config config) throws ConfigException {
        TlsOptions o = new TlsOptions(config.settings(), config.path());
        return new Tls(ClientTls.load(o), ServerTls.load(o));
    }

    /** The TLS engine in use, for the start-up log: BoringSSL (netty-tcnative) or the JDK's. */
    public static String engine() {
        return TlsOptions.provider() == io.netty.handler.ssl.SslProvider.OPENSSL
                ? "BoringSSL via netty-tcnative " + io.netty.handler.ssl.OpenSsl.versionString() : "the JDK's TLS engine";
    }

    /** No TLS either way (unit tests). */
    public static Tls none() {
        return new Tls(ClientTls.disabled(), ServerTls.disabled());
    }
}
