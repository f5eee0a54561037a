package io.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading userlist.txt the way PgBouncer does, and failing without leaking secrets. */
class AuthFileTest {

    @Test
    void parsesPgBouncerUserlist() throws Exception {
        String text = """
                ; a comment
                  ;indented comment

                "alice" "hunter2"
                "bob"   "md553f48b7c4b76a86ce72276c5755f217d" "ignored extra field"
                "quo""te" "pa""ss"
                "empty" ""
                "carol" "first"\r
                "carol" "second"
                """;
        AuthFile file = AuthFile.parse(text, "userlist.txt");

        assertThat(file.users()).containsExactly("alice", "bob", "quo\"te", "empty", "carol");
        assertThat(file.secret("alice")).contains(new Secret.Plain("hunter2"));
        assertThat(file.secret("bob")).containsInstanceOf(Secret.Md5.class);
        assertThat(file.secret("quo\"te")).contains(new Secret.Plain("pa\"ss"));
        assertThat(file.secret("empty")).contains(new Secret.Plain(""));
        assertThat(file.secret("carol")).contains(new Secret.Plain("second"));
        assertThat(file.secret("nobody")).isEmpty();
        assertThat(file.toString()).doesNotContain("hunter2");
    }

    @Test
    void hashIsNotAComment() {
        assertThatThrownBy(() -> AuthFile.parse("\"a\" \"b\"\n# \"x\" \"y\"\n", "userlist.txt"))
                .isInstanceOf(AuthFileException.class)
                .hasMessageStartingWith("userlist.txt:2:");
    }

    @Test
    void malformedLineNamesFileAndLineButNotTheSecret() {
        String text = "\"alice\" \"ok\"\n\"bob\" \"topsecret-unterminated\n";
        assertThatThrownBy(() -> AuthFile.parse(text, "/etc/sluice/userlist.txt"))
                .isInstanceOfSatisfying(AuthFileException.class, e -> {
                    assertThat(e.getMessage()).startsWith("/etc/sluice/userlist.txt:2:").doesNotContain("topsecret");
                    assertThat(e.lineNumber()).isEqualTo(2);
                    assertThat(e.sourceName()).isEqualTo("/etc/sluice/userlist.txt");
                });
    }

    @Test
    void otherMalformedLines() {
        for (String bad : new String[] {"alice \"x\"", "\"alice", "\"alice\"", "\"alice\" topsecret",
            "\"alice\" \"SCRAM-SHA-256$4096:topsecret\""}) {
            assertThatThrownBy(() -> AuthFile.parse(bad, "u.txt"))
                    .isInstanceOf(AuthFileException.class)
                    .hasMessageStartingWith("u.txt:1:")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("topsecret"));
        }
    }

    @Test
    void loadsFromDisk(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("userlist.txt");
        Files.writeString(p, "\uFEFF\"alice\" \"x\"\n");
        assertThat(AuthFile.load(p).secret("alice")).contains(new Secret.Plain("x"));
    }
}
