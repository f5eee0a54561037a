package io.sluice.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates the TLS tests make for themselves: a CA, and server and client certificates it
 * signs, written as PEM files the way openssl would (keys PKCS#8, or SEC1 "EC PRIVATE KEY" where
 * a test asks for the older form). EC P-256: quick to make, and what PostgreSQL users get from
 * current openssl defaults as often as RSA.
 */
public final class TestCerts {
    private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());

    /** A key and the certificate for it, with the files written. */
    public record Issued(KeyPair keys, X509Certificate cert, Path certFile, Path keyFile) {
        /** The key as PKCS#8 DER (pgjdbc's sslkey wants that form). */
        public Path derKeyFile() throws IOException {
            Path der = keyFile.resolveSibling(keyFile.getFileName() + ".pk8");
            Files.write(der, keys.getPrivate().getEncoded());
            restrict(der);
            return der;
        }
    }

    private final Path dir;
    private final Issued ca;

    private TestCerts(Path dir, Issued ca) {
        this.dir = dir;
        this.ca = ca;
    }

    /** A new CA named {@code name}, its files in {@code dir}. */
    public static TestCerts newCa(Path dir, String name) throws Exception {
        KeyPair keys = keyPair();
        X500Name subject = new X500Name("CN=" + name);
        X509v3CertificateBuilder b = builder(subject, subject, keys);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        X509Certificate cert = sign(b, keys.getPrivate());
        Issued issued = write(dir, name, keys, cert, false);
        return new TestCerts(dir, issued);
    }

    public Issued ca() {
        return ca;
    }

    /**
     * A server certificate: CN {@code cn}, subject alternative names {@code names} (DNS names,
     * or IP addresses written as such).
     */
    public Issued server(String file, String cn, String... names) throws Exception {
        return server(file, false, cn, names);
    }

    /** As {@link #server}, the key written in the older SEC1 form ("EC PRIVATE KEY"). */
    public Issued serverWithSec1Key(String file, String cn, String... names) throws Exception {
        return server(file, true, cn, names);
    }

    private Issued server(String file, boolean sec1, String cn, String... names) throws Exception {
        KeyPair keys = keyPair();
        X509v3CertificateBuilder b = builder(new X500Name(ca.cert().getSubjectX500Principal().getName()),
                new X500Name("CN=" + cn), keys);
        List<GeneralName> alt = new ArrayList<>();
        for (String n : names) {
            boolean ip = n.contains(":") || n.chars().allMatch(ch -> ch == '.' || Character.isDigit(ch));
            alt.add(ip ? new GeneralName(GeneralName.iPAddress, InetAddress.getByName(n).getHostAddress())
                    : new GeneralName(GeneralName.dNSName, n));
        }
        if (!alt.isEmpty()) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alt.toArray(new GeneralName[0])));
        }
        return write(dir, file, keys, sign(b, ca.keys().getPrivate()), sec1);
    }

    /** A client certificate whose CN is {@code user}; {@code sec1}: the key in the older "EC PRIVATE KEY" form. */
    public Issued client(String file, String user, boolean sec1) throws Exception {
        KeyPair keys = keyPair();
        X509v3CertificateBuilder b = builder(new X500Name(ca.cert().getSubjectX500Principal().getName()),
                new X500Name("CN=" + user), keys);
        return write(dir, file, keys, sign(b, ca.keys().getPrivate()), sec1);
    }

    private static KeyPair keyPair() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return g.generateKeyPair();
    }

    private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
        long now = System.currentTimeMillis();
        return new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIALS.incrementAndGet()),
                new Date(now - 3_600_000L), new Date(now + 86_400_000L * 30), subject, keys.getPublic());
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    }

    private static Issued write(Path dir, String name, KeyPair keys, X509Certificate cert, boolean sec1)
            throws IOException {
        Path certFile = dir.resolve(name + ".crt");
        Path keyFile = dir.resolve(name + ".key");
        Files.writeString(certFile, pem(cert));
        if (sec1) {
            // SEC1 with the curve named inside, as `openssl ecparam -genkey` writes it.
            org.bouncycastle.asn1.pkcs.PrivateKeyInfo info =
                    org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(keys.getPrivate().getEncoded());
            org.bouncycastle.asn1.sec.ECPrivateKey inner =
                    org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
            org.bouncycastle.asn1.sec.ECPrivateKey withCurve = new org.bouncycastle.asn1.sec.ECPrivateKey(256,
                    inner.getKey(), info.getPrivateKeyAlgorithm().getParameters());
            Files.writeString(keyFile, pem(new org.bouncycastle.util.io.pem.PemObject("EC PRIVATE KEY",
                    withCurve.getEncoded())));
        } else {
            Files.writeString(keyFile, pem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(keys.getPrivate(), null)));
        }
        restrict(keyFile);
        return new Issued(keys, cert, certFile, keyFile);
    }

    /** libpq and PostgreSQL refuse a private key others can read. */
    private static void restrict(Path file) throws IOException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    }

    private static String pem(Object o) throws IOException {
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(o);
        }
        return s.toString();
    }
}
