package io.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The md5 stored hash and salted client response, against independently computed values. */
class Md5AuthTest {

    private static final byte[] SALT = {1, 2, 3, 4};

    @Test
    void encryptIsPostgresStoredForm() throws Exception {
        String expected = "md5" + HexFormat.of().formatHex(
                MessageDigest.getInstance("MD5").digest("secretpostgres".getBytes("UTF-8")));
        assertThat(Md5Auth.encrypt("secret", "postgres"))
                .isEqualTo(expected)
                .isEqualTo("md553f48b7c4b76a86ce72276c5755f217d");
    }

    @Test
    void clientResponseMatchesLibpqComputation() {
        // Value computed independently: md5(hex(md5("secretpostgres")) + 01020304).
        assertThat(Md5Auth.clientResponse("postgres", new Secret.Plain("secret"), SALT))
                .isEqualTo("md5bb41a296aab6baccb36ff243a562abff");
    }

    @Test
    void plainAndMd5SecretsGiveSameResponseAndVerify() {
        Secret plain = new Secret.Plain("secret");
        Secret md5 = Secret.parse(Md5Auth.encrypt("secret", "postgres"));
        String response = Md5Auth.clientResponse("postgres", plain, SALT);

        assertThat(Md5Auth.clientResponse("postgres", md5, SALT)).isEqualTo(response);
        assertThat(Md5Auth.verify("postgres", plain, SALT, response)).isTrue();
        assertThat(Md5Auth.verify("postgres", md5, SALT, response)).isTrue();
        assertThat(Md5Auth.verify("postgres", md5, new byte[] {4, 3, 2, 1}, response)).isFalse();
        assertThat(Md5Auth.verify("other", plain, SALT, response)).isFalse();
        assertThat(Md5Auth.verify("postgres", plain, SALT, Md5Auth.clientResponse("postgres", new Secret.Plain("nope"), SALT)))
                .isFalse();
        assertThat(Md5Auth.verify("postgres", plain, SALT, null)).isFalse();
    }

    @Test
    void scramSecretCannotDoMd5() {
        Secret.Scram scram = ScramKeys.derive("secret", new byte[16], 4096);
        assertThatThrownBy(() -> Md5Auth.clientResponse("postgres", scram, SALT))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(Md5Auth.verify("postgres", scram, SALT, "md5" + "0".repeat(32))).isFalse();
    }
}
