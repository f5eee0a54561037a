package io.sluice.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/**
 * Keys and certificates from PEM files, in the forms openssl writes and PostgreSQL and PgBouncer
 * read: a key as PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE
 * KEY"), parsed by Bouncy Castle (the JDK and Netty read PKCS#8 only).
 */
final class PemFiles {
    private PemFiles() {
    }

    /** The first private key in {@code file}. */
    static PrivateKey key(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            Object o;
            while ((o = p.readObject()) != null) {
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
                if (o instanceof org.bouncycastle.openssl.PEMEncryptedKeyPair
                        || o instanceof org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo) {
                    // PgBouncer has no passphrase setting either.
                    throw new IOException("the key is encrypted; Sluice reads unencrypted keys only");
                }
            }
        }
        throw new IOException("no private key found (expected PEM: PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)");
    }

    /** Every certificate in {@code file}, in order (a chain: the leaf first). */
    static X509Certificate[] certificates(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> out = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                out.add((X509Certificate) c);
            }
            if (out.isEmpty()) {
                throw new IOException("no certificate found");
            }
            return out.toArray(new X509Certificate[0]);
        } catch (CertificateException e) {
            throw new IOException(e.getMessage(), e);
        }
    }
}
