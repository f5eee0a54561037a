package io.sluice.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.sluice.config.ConfigException;
import io.sluice.config.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What the client_tls_* and server_tls_* settings share: protocols, ciphers, the files and the
 * TLS engine, read the way PgBouncer (libusual's tls_config) reads them.
 */
final class TlsOptions {
    /**
     * ALPN "postgresql", offered and accepted, never required by the TLS layer: a client that sent
     * SSLRequest may offer no ALPN at all (ClientLogin insists on it for direct TLS).
     */
    static final io.netty.handler.ssl.ApplicationProtocolConfig ALPN_POSTGRESQL =
            new io.netty.handler.ssl.ApplicationProtocolConfig(io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
                    io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ClientTls.ALPN);

    private final Settings s;
    /** The config file, named in errors. */
    private final Path file;

    /**
     * The cipher keywords PgBouncer takes as "the TLS library's defaults" (older releases gave
     * them their own lists; 1.25 maps them all to the default).
     */
    private static final Set<String> DEFAULT_CIPHERS = Set.of("", "default", "secure", "normal", "fast");

    TlsOptions(Settings s, Path file) {
        this.s = s;
        this.file = file;
    }

    Settings settings() {
        return s;
    }

    /** A problem with one setting, naming the config file and the key. */
    ConfigException error(String key, String problem) {
        return new ConfigException(file, 0, key, problem);
    }

    /**
     * BoringSSL through netty-tcnative where it loads (Linux x86-64), else the JDK's engine.
     * The system property {@code sluice.tls.provider} (openssl or jdk) chooses, for measuring
     * one against the other.
     */
    static SslProvider provider() {
        String chosen = System.getProperty("sluice.tls.provider", "");
        if (chosen.equalsIgnoreCase("jdk")) {
            return SslProvider.JDK;
        }
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /**
     * A protocols setting as PgBouncer reads it: a list of all, secure (or default: TLS 1.2 and
     * 1.3), tlsv1.0, tlsv1.1, tlsv1.2, tlsv1.3, each optionally negated with '!', separated by
     * commas or colons.
     */
    String[] protocols(String key) throws ConfigException {
        String value = s.value(key).strip();
        Set<String> protos = new LinkedHashSet<>();
        boolean first = true;
        for (String raw : value.split("[,:]")) {
            String p = raw.strip().toLowerCase(Locale.ROOT);
            boolean negate = p.startsWith("!");
            if (negate) {
                p = p.substring(1).strip();
                if (first) {
                    protos.addAll(List.of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"));
                }
            }
            first = false;
            List<String> named = switch (p) {
                case "all" -> List.of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3");
                case "secure", "default" -> List.of("TLSv1.2", "TLSv1.3");
                case "tlsv1", "tlsv1.0" -> List.of("TLSv1");
                case "tlsv1.1" -> List.of("TLSv1.1");
                case "tlsv1.2" -> List.of("TLSv1.2");
                case "tlsv1.3" -> List.of("TLSv1.3");
                default -> throw error(key, "invalid value \"" + value
                        + "\" (expected all, secure, tlsv1.0, tlsv1.1, tlsv1.2 or tlsv1.3, optionally negated"
                        + " with !, separated by commas)");
            };
            if (negate) {
                protos.removeAll(named);
            } else {
                protos.addAll(named);
            }
        }
        if (protos.isEmpty()) {
            throw error(key, "invalid value \"" + value + "\" enables no protocol");
        }
        return protos.toArray(new String[0]);
    }

    /** A ciphers setting: null for the engine's defaults, else an OpenSSL cipher list. */
    List<String> ciphers(String key) {
        String value = s.value(key).strip();
        if (DEFAULT_CIPHERS.contains(value.toLowerCase(Locale.ROOT))) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (String c : value.split(":")) {
            if (!c.isBlank()) {
                out.add(c.strip());
            }
        }
        return out;
    }

    /** Applies protocols and ciphers, and the engine. */
    void apply(SslContextBuilder b, String prefix) throws ConfigException {
        b.sslProvider(provider());
        b.protocols(protocols(prefix + "_protocols"));
        List<String> ciphers = ciphers(prefix + "_ciphers");
        if (ciphers != null) {
            b.ciphers(ciphers);
        }
    }

    /** A file a setting names, which must exist and be readable; null when the setting is empty. */
    Path file(String key) throws ConfigException {
        Path p = s.path(key);
        if (p == null) {
            return null;
        }
        if (!Files.isReadable(p)) {
            throw error(key, "cannot read " + p);
        }
        return p;
    }

    /**
     * A digest of the settings and the files' contents: two loads with the same one build the
     * same TLS, so a RELOAD that changed nothing does not replace every server connection.
     */
    String fingerprint(String prefix, List<String> keys) throws ConfigException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String key : keys) {
                String full = prefix + key;
                md.update(full.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(s.value(full).strip().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update((byte) 0);
                if (full.endsWith("_file")) {
                    Path p = file(full);
                    if (p != null) {
                        md.update(Files.readAllBytes(p));
                    }
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } catch (IOException e) {
            throw error(prefix, "cannot read a " + prefix + " file: " + e.getMessage());
        }
    }

    /** The private key in the file {@code key} names. */
    java.security.PrivateKey key(String key, Path file) throws ConfigException {
        try {
            return PemFiles.key(file);
        } catch (IOException | RuntimeException e) {
            throw error(key, "cannot read a private key from " + file + ": " + e.getMessage());
        }
    }

    /** The certificates in the file {@code key} names. */
    java.security.cert.X509Certificate[] certificates(String key, Path file) throws ConfigException {
        try {
            return PemFiles.certificates(file);
        } catch (IOException | RuntimeException e) {
            throw error(key, "cannot read certificates from " + file + ": " + e.getMessage());
        }
    }

    /**
     * Checks that {@code key} belongs to the first certificate in {@code certs}, by a signature:
     * a mismatched pair otherwise fails every handshake, not the start-up that could say why.
     */
    void checkPair(String keyKey, Path keyFile, java.security.PrivateKey key,
            java.security.cert.X509Certificate[] certs) throws ConfigException {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            case "Ed448" -> "Ed448";
            default -> null;
        };
        if (algorithm == null) {
            return;
        }
        try {
            byte[] probe = "sluice key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            java.security.Signature sign = java.security.Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(probe);
            byte[] signature = sign.sign();
            java.security.Signature verify = java.security.Signature.getInstance(algorithm);
            verify.initVerify(certs[0].getPublicKey());
            verify.update(probe);
            if (verify.verify(signature)) {
                return;
            }
        } catch (java.security.GeneralSecurityException e) {
            // Of another type than the certificate's key: a mismatch too.
        }
        throw error(keyKey, "the key in " + keyFile + " does not belong to the certificate "
                + certs[0].getSubjectX500Principal().getName());
    }

    /** Settings Sluice takes only at their defaults: another value stops start-up rather than being ignored. */
    void requireDefault(String key, String why) throws ConfigException {
        String value = s.value(key).strip();
        if (!value.equalsIgnoreCase(Settings.defaultValue(key))) {
            throw error(key, "\"" + value + "\" is not supported by Sluice: " + why);
        }
    }
}
