package io.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Login randomness drawn in blocks: every draw fresh, across block boundaries too. */
class LoginRandomTest {
    @Test
    void cancelKeysAndSaltsStayRandomPastEachBlock() throws Exception {
        LoginRandom random = new LoginRandom();
        Set<Integer> keys = new HashSet<>();
        byte[] salt = new byte[4];
        Set<Integer> salts = new HashSet<>();
        // 1,000 logins' worth: 12 bytes each, dozens of 256-byte blocks.
        for (int i = 0; i < 1000; i++) {
            keys.add(random.nextInt());
            keys.add(random.nextInt());
            random.nextBytes(salt);
            salts.add((salt[0] & 0xff) << 24 | (salt[1] & 0xff) << 16 | (salt[2] & 0xff) << 8 | (salt[3] & 0xff));
        }
        // 32-bit draws: a repeat among 2,000 is a 1-in-2,000 chance; a stale or zeroed block is hundreds.
        assertThat(keys).hasSizeGreaterThanOrEqualTo(1998);
        assertThat(salts).hasSizeGreaterThanOrEqualTo(998);
    }
}
