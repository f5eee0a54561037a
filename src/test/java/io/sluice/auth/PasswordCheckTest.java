package io.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** Cleartext password checks against every secret kind, and the SCRAM key cache. */
class PasswordCheckTest {

    @Test
    void plainMd5AndScramSecrets() {
        Secret plain = new Secret.Plain("secret");
        Secret md5 = Secret.parse(Md5Auth.encrypt("secret", "postgres"));
        Secret scram = ScramKeys.derive("secret", new byte[16], 4096);
        for (Secret s : new Secret[] {plain, md5, scram}) {
            assertThat(PasswordCheck.verifyCleartext("postgres", s, "secret")).as(s.toString()).isTrue();
            assertThat(PasswordCheck.verifyCleartext("postgres", s, "Secret")).as(s.toString()).isFalse();
            assertThat(PasswordCheck.verifyCleartext("postgres", s, null)).as(s.toString()).isFalse();
        }
        // The md5 hash is salted by the user name.
        assertThat(PasswordCheck.verifyCleartext("other", md5, "secret")).isFalse();
    }

    @Test
    void keyCacheDerivesOncePerPasswordAndNotFromMd5() {
        ScramKeyCache cache = new ScramKeyCache(new SecureRandom());
        Secret plain = new Secret.Plain("secret");
        Secret.Scram first = cache.keysFor("alice", plain);
        assertThat(first.salt()).hasSize(16);
        assertThat(first.iterations()).isEqualTo(4096);
        assertThat(cache.keysFor("alice", new Secret.Plain("secret"))).isSameAs(first);
        assertThat(PasswordCheck.verifyCleartext("alice", first, "secret")).isTrue();

        Secret.Scram changed = cache.keysFor("alice", new Secret.Plain("new"));
        assertThat(changed).isNotEqualTo(first);
        assertThat(PasswordCheck.verifyCleartext("alice", changed, "new")).isTrue();
        assertThat(cache.size()).isEqualTo(1);

        Secret.Scram scram = ScramKeys.derive("x", new byte[16], 4096);
        assertThat(cache.keysFor("bob", scram)).isSameAs(scram);
        assertThat(cache.keysFor("carol", Secret.parse(Md5Auth.encrypt("x", "carol")))).isNull();
    }
}
