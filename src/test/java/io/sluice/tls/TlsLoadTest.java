package io.sluice.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.config.Config;
import io.sluice.config.ConfigException;
import io.sluice.testing.TestCerts;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS settings as start-up and RELOAD read them: every one Sluice cannot honour stops it with
 * the file, the key and the reason, never a warning and a plaintext connection.
 */
class TlsLoadTest {
    @TempDir
    Path dir;
    private TestCerts ca;
    private TestCerts.Issued cert;

    @BeforeEach
    void certificates() throws Exception {
        ca = TestCerts.newCa(dir, "ca");
        cert = ca.server("server", "localhost", "localhost");
    }

    private Tls load(String settings) throws Exception {
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(ini, "[pgbouncer]\nauth_type = any\n" + settings);
        return Tls.load(Config.load(ini));
    }

    private String failure(String settings) {
        return assertThrows(ConfigException.class, () -> load(settings)).getMessage();
    }

    private String keyAndCert() {
        return "client_tls_key_file = " + cert.keyFile() + "\nclient_tls_cert_file = " + cert.certFile() + "\n";
    }

    @Test
    void defaultsAreNoClientTlsAndServerTlsWhereOffered() throws Exception {
        Tls tls = load("");
        assertThat(tls.clients().accepts()).isFalse();
        assertThat(tls.servers().mode()).isEqualTo(SslMode.PREFER);
        assertThat(tls.servers().requested()).isTrue();
        assertThat(tls.servers().required()).isFalse();
    }

    @Test
    void clientTlsNeedsAKeyAndACertificate() {
        for (String mode : new String[] {"allow", "prefer", "require", "verify-ca", "verify-full"}) {
            assertThat(failure("client_tls_sslmode = " + mode + "\n"))
                    .endsWith("pgbouncer.ini: client_tls_sslmode: to allow TLS connections from clients (" + mode
                            + "), client_tls_key_file and client_tls_cert_file must be set");
        }
    }

    @Test
    void verifyFullAndCertAuthNeedACaFile() throws Exception {
        assertThat(failure("client_tls_sslmode = verify-full\n" + keyAndCert()))
                .endsWith("client_tls_sslmode: verify-full needs client_tls_ca_file");
        assertThat(failure("auth_type = cert\nclient_tls_sslmode = require\n" + keyAndCert()))
                .endsWith("auth_type: auth_type cert needs client_tls_sslmode verify-full and client_tls_ca_file");
        assertThat(failure("auth_type = cert\n"))
                .contains("auth_type cert needs client_tls_sslmode verify-full");
        Tls ok = load("auth_type = cert\nclient_tls_sslmode = verify-full\n" + keyAndCert()
                + "client_tls_ca_file = " + ca.ca().certFile() + "\n");
        assertThat(ok.clients().required()).isTrue();
    }

    @Test
    void unreadableOrUnusableFilesAreNamed() throws Exception {
        assertThat(failure("client_tls_sslmode = require\nclient_tls_key_file = " + dir.resolve("nope.key")
                + "\nclient_tls_cert_file = " + cert.certFile() + "\n"))
                .endsWith("client_tls_key_file: cannot read " + dir.resolve("nope.key"));
        Path garbage = Files.writeString(dir.resolve("garbage.key"), "not a key\n");
        assertThat(failure("client_tls_sslmode = require\nclient_tls_key_file = " + garbage
                + "\nclient_tls_cert_file = " + cert.certFile() + "\n"))
                .contains("client_tls_key_file: cannot read a private key from " + garbage + ": no private key found");
        assertThat(failure("client_tls_sslmode = require\nclient_tls_key_file = " + cert.keyFile()
                + "\nclient_tls_cert_file = " + garbage + "\n"))
                .contains("client_tls_cert_file: cannot read certificates from " + garbage);
        assertThat(failure("server_tls_cert_file = " + cert.certFile() + "\n"))
                .contains("server_tls_key_file: server_tls_cert_file and server_tls_key_file go together");
        // A key that belongs to another certificate.
        TestCerts.Issued other = ca.server("other", "other");
        assertThat(failure("client_tls_sslmode = require\nclient_tls_key_file = " + other.keyFile()
                + "\nclient_tls_cert_file = " + cert.certFile() + "\n"))
                .contains("client_tls_key_file: the key in " + other.keyFile() + " does not belong to the certificate CN=localhost");
    }

    @Test
    void protocolsAndCiphersAreReadAsPgBouncerReadsThem() throws Exception {
        TlsOptions o = options("client_tls_protocols = secure,!tlsv1.2\n");
        assertThat(o.protocols("client_tls_protocols")).containsExactly("TLSv1.3");
        assertThat(options("client_tls_protocols = !tlsv1.0:!tlsv1.1\n").protocols("client_tls_protocols"))
                .containsExactly("TLSv1.2", "TLSv1.3");
        assertThat(options("client_tls_protocols = tlsv1.2\n").protocols("client_tls_protocols"))
                .containsExactly("TLSv1.2");
        assertThat(failure("client_tls_sslmode = require\n" + keyAndCert() + "client_tls_protocols = tlsv1.9\n"))
                .contains("client_tls_protocols: invalid value \"tlsv1.9\"");
        assertThat(failure("client_tls_sslmode = require\n" + keyAndCert() + "client_tls_protocols = secure,!secure\n"))
                .contains("enables no protocol");
        assertThat(options("client_tls_ciphers = fast\n").ciphers("client_tls_ciphers")).isNull();
        assertThat(options("client_tls_ciphers = HIGH:!aNULL\n").ciphers("client_tls_ciphers"))
                .containsExactly("HIGH", "!aNULL");
        assertThat(failure("client_tls_sslmode = require\n" + keyAndCert() + "client_tls13_ciphers = TLS_AES_128_GCM_SHA256\n"))
                .contains("client_tls13_ciphers: \"TLS_AES_128_GCM_SHA256\" is not supported by Sluice");
        assertThat(failure("client_tls_sslmode = require\n" + keyAndCert() + "client_tls_ecdhcurve = secp384r1\n"))
                .contains("client_tls_ecdhcurve: \"secp384r1\" is not supported by Sluice");
    }

    @Test
    void serverTlsIsTheSameWhileItsSettingsAndFilesAre() throws Exception {
        String verify = "server_tls_sslmode = verify-ca\nserver_tls_ca_file = " + ca.ca().certFile() + "\n";
        ServerTls a = load(verify).servers();
        ServerTls b = load(verify).servers();
        assertThat(a).isEqualTo(b);
        assertThat(load("server_tls_sslmode = require\n").servers()).isNotEqualTo(a);
        // The same file name with new contents (a renewed CA) is a change.
        TestCerts.newCa(dir, "ca");
        assertThat(load(verify).servers()).isNotEqualTo(a);
    }

    private TlsOptions options(String settings) throws Exception {
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(ini, "[pgbouncer]\nauth_type = any\n" + settings);
        Config c = Config.load(ini);
        return new TlsOptions(c.settings(), ini);
    }
}
