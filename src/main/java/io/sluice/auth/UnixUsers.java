package io.sluice.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The login name of a Unix user id, for hba's peer method, as getpwuid(3) gives it from
 * /etc/passwd. The JDK has no getpwuid; NSS sources other than files (LDAP, sssd) are not read,
 * so a uid known only there has no name here and its peer login is refused.
 */
public final class UnixUsers {
    private static final Path PASSWD = Path.of("/etc/passwd");

    private UnixUsers() {
    }

    /** The name of {@code uid}, null when /etc/passwd has none. */
    public static String name(int uid) {
        try {
            for (String line : Files.readAllLines(PASSWD, StandardCharsets.UTF_8)) {
                String[] f = line.split(":", -1);
                if (f.length > 2 && f[2].equals(Integer.toString(uid))) {
                    return f[0];
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }
}
