package io.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Classifying and parsing stored secrets, and keeping them out of toString and error messages. */
class SecretTest {

    @Test
    void classifiesLikePostgres() {
        assertThat(Secret.parse("md553f48b7c4b76a86ce72276c5755f217d")).isInstanceOf(Secret.Md5.class);
        // Uppercase hex or wrong length is a plaintext password, as in PostgreSQL.
        assertThat(Secret.parse("md553F48B7C4B76A86CE72276C5755F217D")).isInstanceOf(Secret.Plain.class);
        assertThat(Secret.parse("md5abc")).isEqualTo(new Secret.Plain("md5abc"));
        assertThat(Secret.parse("")).isEqualTo(new Secret.Plain(""));
        assertThat(Secret.parse("hunter2")).isEqualTo(new Secret.Plain("hunter2"));
    }

    @Test
    void generatedScramSecretRoundTrips() {
        Secret.Scram keys = ScramKeys.derive("secret", "0123456789abcdef".getBytes(StandardCharsets.US_ASCII), 4096);
        String text = keys.format();
        assertThat(text).startsWith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$");

        Secret parsed = Secret.parse(text);
        assertThat(parsed).isEqualTo(keys);
        assertThat(PasswordCheck.verifyCleartext("any", parsed, "secret")).isTrue();
    }

    /** The published RFC 7677 verifier for password "pencil", in PostgreSQL's text form. */
    @Test
    void publishedScramSecretParses() {
        Secret.Scram s = (Secret.Scram) Secret.parse("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
                + "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
        assertThat(s.iterations()).isEqualTo(4096);
        assertThat(s.salt()).hasSize(16);
        assertThat(PasswordCheck.verifyCleartext("user", s, "pencil")).isTrue();
        assertThat(PasswordCheck.verifyCleartext("user", s, "pencil2")).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "SCRAM-SHA-256$",
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==",
        "SCRAM-SHA-256$x:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "SCRAM-SHA-256$4096:W22Z@@@@$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3Otc:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
        "SCRAM-SHA-256$4096::$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwc$E6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="})
    void malformedScramIsRejectedWithoutEchoingTheSecret(String text) {
        assertThatThrownBy(() -> Secret.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("W22Z").doesNotContain("WG5d").doesNotContain("wfPL"));
    }

    @Test
    void toStringNeverRevealsTheSecret() {
        Secret.Scram scram = ScramKeys.derive("secret", new byte[16], 4096);
        String[] parts = scram.format().split("[$:]");
        assertThat(new Secret.Plain("hunter2").toString()).doesNotContain("hunter2");
        assertThat(Secret.parse("md553f48b7c4b76a86ce72276c5755f217d").toString()).doesNotContain("53f48b7c");
        for (int i = 2; i < parts.length; i++) {
            assertThat(scram.toString()).doesNotContain(parts[i]);
        }
    }
}
