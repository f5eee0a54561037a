package io.sluice.auth;

import static io.sluice.auth.HbaFile.Connection.HOST_PLAIN;
import static io.sluice.auth.HbaFile.Connection.HOST_TLS;
import static io.sluice.auth.HbaFile.Connection.LOCAL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.auth.HbaFile.Connection;
import io.sluice.auth.HbaFile.Method;
import io.sluice.auth.HbaFile.Rule;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which method a connection gets from an auth_hba_file, and what a broken line tells the admin. */
class HbaFileTest {

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path path = dir.resolve(name);
        Files.createDirectories(path.getParent());
        Files.writeString(path, text, StandardCharsets.UTF_8);
        return path;
    }

    private HbaFile load(String text) throws IOException {
        return HbaFile.load(write("pg_hba.conf", text));
    }

    private String where(int line) {
        return dir.resolve("pg_hba.conf") + ":" + line + ": ";
    }

    private static InetAddress ip(String literal) throws IOException {
        return InetAddress.getByName(literal);
    }

    private static Method method(HbaFile hba, Connection c, String address, String db, String user)
            throws IOException {
        Rule rule = hba.match(c, address == null ? null : ip(address), db, user);
        return rule == null ? null : rule.method();
    }

    @Test
    void eachRecordTypeMatchesItsConnections() throws Exception {
        HbaFile hba = load("""
                local all all peer
                hostssl all all all cert
                hostnossl all all all md5
                """);
        assertThat(hba.warnings()).isEmpty();
        assertThat(method(hba, LOCAL, null, "db", "u")).isEqualTo(Method.PEER);
        assertThat(method(hba, HOST_TLS, "10.0.0.1", "db", "u")).isEqualTo(Method.CERT);
        assertThat(method(hba, HOST_PLAIN, "10.0.0.1", "db", "u")).isEqualTo(Method.MD5);

        HbaFile host = load("host all all all scram-sha-256\n");
        assertThat(method(host, HOST_TLS, "10.0.0.1", "db", "u")).isEqualTo(Method.SCRAM_SHA_256);
        assertThat(method(host, HOST_PLAIN, "::1", "db", "u")).isEqualTo(Method.SCRAM_SHA_256);
        assertThat(method(host, LOCAL, null, "db", "u")).isNull();
    }

    @Test
    void gssEncryptionTypesAreNotKnownToPgBouncerSoTheLineIsSkipped() throws Exception {
        HbaFile hba = load("""
                hostgssenc all all all reject
                hostnogssenc all all all reject
                HOST all all all reject
                "host" all all all reject
                host all all all trust
                """);
        assertThat(method(hba, HOST_PLAIN, "10.0.0.1", "db", "u")).isEqualTo(Method.TRUST);
        assertThat(hba.warnings()).containsExactly(
                where(1) + "unknown connection type \"hostgssenc\" (expected local, host, hostssl or hostnossl);"
                        + " line ignored",
                where(2) + "unknown connection type \"hostnogssenc\" (expected local, host, hostssl or hostnossl);"
                        + " line ignored",
                where(3) + "unknown connection type \"HOST\" (expected local, host, hostssl or hostnossl);"
                        + " line ignored",
                where(4) + "unknown connection type quoted \"host\" (expected local, host, hostssl or hostnossl);"
                        + " line ignored");
    }

    @Test
    void firstMatchingRuleWinsAndNoMatchIsNull() throws Exception {
        HbaFile hba = load("""
                # comment line

                host  sales  all  10.0.0.0/8  reject   # trailing comment
                host  all    all  10.0.0.0/8  md5
                host  all    bob  all         trust
                """);
        assertThat(hba.match(HOST_PLAIN, ip("10.1.1.1"), "sales", "bob").line()).isEqualTo(3);
        assertThat(method(hba, HOST_PLAIN, "10.1.1.1", "sales", "bob")).isEqualTo(Method.REJECT);
        assertThat(method(hba, HOST_PLAIN, "10.1.1.1", "other", "bob")).isEqualTo(Method.MD5);
        assertThat(method(hba, HOST_PLAIN, "192.168.0.1", "sales", "bob")).isEqualTo(Method.TRUST);
        assertThat(method(hba, HOST_PLAIN, "192.168.0.1", "sales", "alice")).isNull();
        assertThat(method(hba, LOCAL, null, "sales", "bob")).isNull();
        assertThat(load("").match(LOCAL, null, "db", "u")).isNull();
        assertThat(hba.rules()).extracting(Rule::line).containsExactly(3, 4, 5);
        assertThat(hba.rules().get(0).file()).isEqualTo(dir.resolve("pg_hba.conf"));
    }

    @Test
    void databaseAndUserLists() throws Exception {
        HbaFile hba = load("""
                local db1,db2 , db3 alice,"Bob" trust
                local "all" all md5
                local all "all",carol password
                local all all reject
                """);
        for (String db : new String[] {"db1", "db2", "db3"}) {
            assertThat(method(hba, LOCAL, null, db, "alice")).isEqualTo(Method.TRUST);
            assertThat(method(hba, LOCAL, null, db, "Bob")).isEqualTo(Method.TRUST);
        }
        assertThat(method(hba, LOCAL, null, "db1", "bob")).as("names are case-sensitive").isEqualTo(Method.REJECT);
        assertThat(method(hba, LOCAL, null, "all", "dave")).as("quoted all is a name").isEqualTo(Method.MD5);
        assertThat(method(hba, LOCAL, null, "x", "all")).isEqualTo(Method.PASSWORD);
        assertThat(method(hba, LOCAL, null, "x", "carol")).isEqualTo(Method.PASSWORD);
        assertThat(method(hba, LOCAL, null, "x", "dave")).isEqualTo(Method.REJECT);
    }

    @Test
    void quotingEscapesAndSpecialCharacters() throws Exception {
        HbaFile hba = load("local \"my\"\"db\",\"a#b\",\"x y\" \"@team\",\"+ops\" trust\r\n"
                + "local\tall\tall\treject#no space before comment\n");
        assertThat(hba.warnings()).isEmpty();
        assertThat(method(hba, LOCAL, null, "my\"db", "@team")).isEqualTo(Method.TRUST);
        assertThat(method(hba, LOCAL, null, "a#b", "+ops")).isEqualTo(Method.TRUST);
        assertThat(method(hba, LOCAL, null, "x y", "@team")).isEqualTo(Method.TRUST);
        assertThat(method(hba, LOCAL, null, "other", "@team")).isEqualTo(Method.REJECT);
    }

    @Test
    void sameuserMatchesInEitherColumn() throws Exception {
        HbaFile hba = load("""
                local sameuser all trust
                local all sameuser md5
                local all all reject
                """);
        assertThat(method(hba, LOCAL, null, "alice", "alice")).isEqualTo(Method.TRUST);
        assertThat(method(hba, LOCAL, null, "sales", "alice")).isEqualTo(Method.REJECT);

        HbaFile userColumn = load("local all sameuser md5\nlocal all all reject\n");
        assertThat(method(userColumn, LOCAL, null, "alice", "alice")).isEqualTo(Method.MD5);
        assertThat(method(userColumn, LOCAL, null, "sales", "alice")).isEqualTo(Method.REJECT);
    }

    @Test
    void replicationKeywordMatchesOnlyPhysicalReplication() throws Exception {
        HbaFile hba = load("""
                host replication repl all scram-sha-256
                host "replication" all all md5
                host all all all trust
                """);
        InetAddress a = ip("10.0.0.1");
        assertThat(hba.match(HOST_PLAIN, a, "anything", "repl", true).method()).isEqualTo(Method.SCRAM_SHA_256);
        assertThat(hba.match(HOST_PLAIN, a, "anything", "other", true)).as("all does not cover replication").isNull();
        assertThat(hba.match(HOST_PLAIN, a, "replication", "repl").method()).isEqualTo(Method.MD5);
        assertThat(hba.match(HOST_PLAIN, a, "db", "repl").method()).isEqualTo(Method.TRUST);
    }

    @Test
    void replicationInTheUserColumnMatchesNobodyAndIsWarned() throws Exception {
        HbaFile hba = load("local all replication trust\nlocal all all reject\n");
        assertThat(method(hba, LOCAL, null, "db", "replication")).isEqualTo(Method.REJECT);
        assertThat(hba.match(LOCAL, null, "db", "replication", true)).isNull();
        assertThat(hba.warnings()).containsExactly(where(1)
                + "the keyword replication in the user column matches no user (quote it to name a user)");
    }

    @Test
    void namesFromFilesRelativeToTheFileNamingThem() throws Exception {
        write("lists/dbs.txt", """
                # databases for the sales team

                sales, "sales two"
                crm reports  # blank separated too
                @more/extra.txt
                """);
        write("lists/more/extra.txt", "archive\n");
        Path absolute = write("elsewhere/admins.txt", "root,all\n");
        write("lists/users.txt", "alice\nbob\n");
        HbaFile hba = load("local @lists/dbs.txt @lists/users.txt md5\n"
                + "local all @" + absolute + " trust\n"
                + "local all all reject\n");
        assertThat(hba.warnings()).isEmpty();
        for (String db : new String[] {"sales", "sales two", "crm", "reports", "archive"}) {
            assertThat(method(hba, LOCAL, null, db, "bob")).as(db).isEqualTo(Method.MD5);
        }
        assertThat(method(hba, LOCAL, null, "hr", "bob")).as("all in an @file is the keyword").isEqualTo(Method.TRUST);
        assertThat(method(hba, LOCAL, null, "sales", "carol")).isEqualTo(Method.TRUST);
        assertThat(method(hba, LOCAL, null, "@lists/dbs.txt", "bob")).isEqualTo(Method.TRUST);
    }

    @Test
    void brokenIncludesSkipTheRuleNamingTheFileAtFault() throws Exception {
        write("bad.txt", "alice\nsamerole\n");
        write("loop.txt", "@loop.txt\n");
        HbaFile hba = load("""
                local all @missing.txt reject
                local all @bad.txt reject
                local all @loop.txt reject
                local all all trust
                """);
        assertThat(method(hba, LOCAL, null, "db", "alice")).isEqualTo(Method.TRUST);
        assertThat(hba.warnings()).hasSize(3);
        assertThat(hba.warnings().get(0)).isEqualTo(where(1) + "cannot read @file " + dir.resolve("missing.txt")
                + ": no such file; line ignored");
        assertThat(hba.warnings().get(1)).isEqualTo(where(2) + "in " + dir.resolve("bad.txt")
                + " line 2: samerole is not supported; line ignored");
        assertThat(hba.warnings().get(2)).startsWith(where(3) + "in " + dir.resolve("loop.txt") + " line 1: ")
                .contains("@file nesting deeper than 10").endsWith("(an include loop?); line ignored");
    }

    @Test
    void ipv4CidrAndSeparateMask() throws Exception {
        HbaFile hba = load("""
                host all all 10.0.0.0/8 md5
                host all all 127.0.0.1 255.255.255.255 trust
                host all all 192.168.0.0 255.255.0.0 password
                host all all 0.0.0.0/0 reject
                """);
        assertThat(hba.warnings()).isEmpty();
        assertThat(method(hba, HOST_PLAIN, "10.255.1.2", "db", "u")).isEqualTo(Method.MD5);
        assertThat(method(hba, HOST_PLAIN, "127.0.0.1", "db", "u")).isEqualTo(Method.TRUST);
        assertThat(method(hba, HOST_PLAIN, "127.0.0.2", "db", "u")).isEqualTo(Method.REJECT);
        assertThat(method(hba, HOST_PLAIN, "192.168.7.7", "db", "u")).isEqualTo(Method.PASSWORD);
        assertThat(method(hba, HOST_PLAIN, "::1", "db", "u")).as("IPv4 rules never match IPv6").isNull();
    }

    @Test
    void ipv6AndAll() throws Exception {
        HbaFile hba = load("""
                host all all ::1/128 trust
                host all all 2001:db8::/32 md5
                host all all fe80:: ffc0:: password
                host all all all reject
                """);
        assertThat(method(hba, HOST_PLAIN, "::1", "db", "u")).isEqualTo(Method.TRUST);
        assertThat(method(hba, HOST_PLAIN, "2001:db8:1::5", "db", "u")).isEqualTo(Method.MD5);
        assertThat(method(hba, HOST_PLAIN, "fe80::1", "db", "u")).isEqualTo(Method.PASSWORD);
        assertThat(method(hba, HOST_PLAIN, "2001:db9::1", "db", "u")).isEqualTo(Method.REJECT);
        assertThat(method(hba, HOST_PLAIN, "10.0.0.1", "db", "u")).isEqualTo(Method.REJECT);
    }

    @Test
    void ipv4MappedClientsMatchIpv4RulesOnly() throws Exception {
        HbaFile hba = load("""
                host all all ::ffff:0:0/96 reject
                host all all 1.2.3.0/24 trust
                """);
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 1, 2, 3, 4};
        InetAddress client = Inet6Address.getByAddress(null, mapped, -1);
        assertThat(client).isInstanceOf(Inet6Address.class);
        assertThat(hba.match(HOST_PLAIN, client, "db", "u").method()).isEqualTo(Method.TRUST);
        assertThat(method(hba, HOST_PLAIN, "1.2.3.4", "db", "u")).isEqualTo(Method.TRUST);
    }

    @Test
    void hostBitsOutsideTheMaskAreWarnedAndNeverMatchAsInPgBouncer() throws Exception {
        HbaFile hba = load("host all all 10.0.0.1/8 reject\nhost all all 10.0.0.1 255.0.0.0 md5\n"
                + "host all all all trust\n");
        assertThat(method(hba, HOST_PLAIN, "10.0.0.1", "db", "u")).isEqualTo(Method.TRUST);
        assertThat(hba.warnings()).containsExactly(
                where(1) + "address 10.0.0.1/8 has bits set outside its mask, so the rule never matches",
                where(2) + "address 10.0.0.1 255.0.0.0 has bits set outside its mask, so the rule never matches");
    }

    @Test
    void prefixLengthIsReadLikeStrtoul() throws Exception {
        HbaFile hba = load("""
                host all all 10.0.0.0/+8 md5
                host all all 0.0.0.0/ trust
                host all all ::/-0 password
                """);
        assertThat(hba.warnings()).isEmpty();
        assertThat(method(hba, HOST_PLAIN, "10.9.9.9", "db", "u")).isEqualTo(Method.MD5);
        assertThat(method(hba, HOST_PLAIN, "11.9.9.9", "db", "u")).isEqualTo(Method.TRUST);
        assertThat(method(hba, HOST_PLAIN, "2001:db8::1", "db", "u")).isEqualTo(Method.PASSWORD);
    }

    @Test
    void everyMethodAndLdapOptions() throws Exception {
        Map<String, Method> methods = Map.of("trust", Method.TRUST, "reject", Method.REJECT,
                "password", Method.PASSWORD, "md5", Method.MD5, "scram-sha-256", Method.SCRAM_SHA_256,
                "cert", Method.CERT, "peer", Method.PEER);
        for (Map.Entry<String, Method> e : methods.entrySet()) {
            Rule rule = load("local all all " + e.getKey() + "\n").match(LOCAL, null, "db", "u");
            assertThat(rule.method()).isEqualTo(e.getValue());
            assertThat(rule.identMap()).isNull();
            assertThat(rule.ldapOptions()).isNull();
        }
        Rule ldap = load("host all all all ldap ldapserver=ldap.example.com ldapprefix=\"cn=\" "
                + "ldapsuffix=\", dc=example, dc=net\"  \n").match(HOST_TLS, ip("10.0.0.1"), "db", "u");
        assertThat(ldap.method()).isEqualTo(Method.LDAP);
        assertThat(ldap.ldapOptions())
                .isEqualTo("ldapserver=ldap.example.com ldapprefix=\"cn=\" ldapsuffix=\", dc=example, dc=net\"");
        assertThat(load("local all all ldap\n").rules().get(0).ldapOptions()).isEmpty();
    }

    @Test
    void identMapOption() throws Exception {
        Path file = write("pg_hba.conf", "local all all peer map=admins\nhostssl all all all cert map=certs\n"
                + "local all all trust\n");
        HbaFile hba = HbaFile.load(file, Set.of("admins", "certs"));
        assertThat(hba.warnings()).isEmpty();
        assertThat(hba.match(LOCAL, null, "db", "u").identMap()).isEqualTo("admins");
        assertThat(hba.match(HOST_TLS, ip("10.0.0.1"), "db", "u").identMap()).isEqualTo("certs");

        HbaFile withoutIdentFile = HbaFile.load(file);
        assertThat(withoutIdentFile.match(LOCAL, null, "db", "u").method()).isEqualTo(Method.TRUST);
        assertThat(withoutIdentFile.warnings()).containsExactly(
                where(1) + "ident map \"admins\" is not in auth_ident_file; line ignored",
                where(2) + "ident map \"certs\" is not in auth_ident_file; line ignored");
    }

    @Test
    void noLineContinuation() throws Exception {
        HbaFile hba = load("local all all \\\n    trust\n");
        assertThat(hba.rules()).isEmpty();
        assertThat(hba.warnings()).containsExactly(
                where(1) + "unsupported authentication method \"\\\"; line ignored",
                where(2) + "unknown connection type \"trust\" (expected local, host, hostssl or hostnossl); line ignored");
    }

    @Test
    void byteOrderMarkIsIgnored() throws Exception {
        HbaFile hba = load("\uFEFFlocal all all trust\n");
        assertThat(hba.warnings()).isEmpty();
        assertThat(method(hba, LOCAL, null, "db", "u")).isEqualTo(Method.TRUST);
    }

    @Test
    void everyMalformedLineIsSkippedWithItsFileAndLine() throws Exception {
        Map<String, String> cases = Map.ofEntries(
                Map.entry("local all all \"trust", "unterminated quoted string"),
                Map.entry("local", "missing database name"),
                Map.entry("local all", "missing user name"),
                Map.entry("local all all", "missing authentication method"),
                Map.entry("local db1 alice,", "missing user name"),
                Map.entry("local db1,,db2 all trust", "missing database name before \",\""),
                Map.entry("local samerole all trust", "samerole is not supported"),
                Map.entry("local samegroup all trust", "samegroup is not supported"),
                Map.entry("local all samerole trust", "samerole is not supported"),
                Map.entry("local all +admins trust", "group membership (+admins) is not supported"),
                Map.entry("host all all", "missing address"),
                Map.entry("host all all \"10.0.0.0/8\" trust", "missing address, found quoted \"10.0.0.0/8\""),
                Map.entry("host all all samehost trust", "samehost is not supported"),
                Map.entry("host all all samenet trust", "samenet is not supported"),
                Map.entry("host all all db.example.com trust",
                        "invalid IP address \"db.example.com\" (host names are not supported)"),
                Map.entry("host all all .example.com trust",
                        "invalid IP address \".example.com\" (host names are not supported)"),
                Map.entry("host all all 127.1/32 trust", "invalid IP address \"127.1\" (host names are not supported)"),
                Map.entry("host all all fe80::1%eth0/64 trust",
                        "invalid IP address \"fe80::1%eth0\" (host names are not supported)"),
                Map.entry("host all all 10.0.0.0/33 trust", "invalid CIDR mask in \"10.0.0.0/33\""),
                Map.entry("host all all ::1/129 trust", "invalid CIDR mask in \"::1/129\""),
                Map.entry("host all all 10.0.0.0/-8 trust", "invalid CIDR mask in \"10.0.0.0/-8\""),
                Map.entry("host all all 10.0.0.0/8x trust", "invalid CIDR mask in \"10.0.0.0/8x\""),
                Map.entry("host all all 10.0.0.0/+ trust", "invalid CIDR mask in \"10.0.0.0/+\""),
                Map.entry("host all all 10.0.0.1", "missing netmask after address \"10.0.0.1\""),
                Map.entry("host all all 10.0.0.1 trust", "invalid netmask \"trust\" for address \"10.0.0.1\""),
                Map.entry("host all all ::1 255.255.255.255 trust",
                        "invalid netmask \"255.255.255.255\" for address \"::1\""),
                Map.entry("host all all 10.0.0.0/8 255.0.0.0 trust", "unsupported authentication method \"255.0.0.0\""),
                Map.entry("local all all ident", "unsupported authentication method \"ident\""),
                Map.entry("local all all pam", "unsupported authentication method \"pam\""),
                Map.entry("local all all gss", "unsupported authentication method \"gss\""),
                Map.entry("local all all Trust", "unsupported authentication method \"Trust\""),
                Map.entry("local all all \"trust\"", "unsupported authentication method quoted \"trust\""),
                Map.entry("local all all peer clientcert=verify-full",
                        "unsupported option \"clientcert=verify-full\" (only map=name is supported)"),
                Map.entry("local all all trust extra", "unsupported option \"extra\" (only map=name is supported)"),
                Map.entry("local all all trust \"x\"", "unexpected quoted \"x\" after the authentication method"),
                Map.entry("local all all trust ,", "unexpected \",\" after the authentication method"),
                Map.entry("local all all peer map=m map=m", "unexpected \"map=m\" after the authentication method"),
                Map.entry("local all all peer map=", "ident map \"\" is not in auth_ident_file"));
        for (Map.Entry<String, String> c : cases.entrySet()) {
            Path file = write("pg_hba.conf", "local all admin peer map=m\n" + c.getKey() + "\nlocal all all md5\n");
            HbaFile hba = HbaFile.load(file, Set.of("m"));
            assertThat(hba.warnings()).as(c.getKey()).containsExactly(where(2) + c.getValue() + "; line ignored");
            assertThat(hba.rules()).as(c.getKey()).extracting(Rule::line).containsExactly(1, 3);
            assertThat(method(hba, LOCAL, null, "db", "u")).isEqualTo(Method.MD5);
        }
    }

    @Test
    void unreadableHbaFileIsAnIoError() {
        assertThatThrownBy(() -> HbaFile.load(dir.resolve("absent.conf"))).isInstanceOf(NoSuchFileException.class);
    }
}
