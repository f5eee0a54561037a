package io.sluice.auth;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Reads PgBouncer's auth_hba_file (auth_type = hba) and picks the authentication rule for a connection.
 *
 * <p>The syntax and matching are PgBouncer 1.25's hba.c, which is a subset of pg_hba.conf with a few
 * quirks kept here so that a file means the same to Sluice as to PgBouncer: no backslash continuation;
 * {@code #} starts a comment outside quotes; {@code ""} inside quotes is a quote; a quoted word is never
 * a keyword. The user column takes the database column's keywords: {@code sameuser} there matches a
 * user named like the database and {@code replication} there matches nobody. {@code +group},
 * {@code samerole}, {@code samegroup}, {@code samehost}, {@code samenet}, host names and the
 * hostgssenc/hostnogssenc types are not supported. An address with bits set outside its mask never
 * matches. The only option is {@code map=name}, naming a map of auth_ident_file; {@code ldap} takes
 * the rest of its line, verbatim, as LDAP options.
 *
 * <p>A line that cannot be used is skipped with a warning, as PgBouncer does, and the rules after it
 * still apply; {@link #warnings()} lists them. Deliberately unlike PgBouncer: an {@code @file} may hold
 * blank and comment-only lines and names separated by blanks (PgBouncer skips the whole rule on such a
 * line, and silently ignores every name after the first blank on a line), an include loop is stopped at
 * depth 10 instead of exhausting file descriptors, and a leading byte-order mark is ignored.
 */
public final class HbaFile {

    /** How the client must prove who it is; spelled in the file in lower case, {@code scram-sha-256} with hyphens. */
    public enum Method { TRUST, REJECT, PASSWORD, MD5, SCRAM_SHA_256, CERT, PEER, LDAP }

    /** How the client is connected. */
    public enum Connection { LOCAL, HOST_TLS, HOST_PLAIN }

    /**
     * One rule; line is the file line number (1-based). {@code identMap} is the {@code map=} name or
     * null; {@code ldapOptions} is the text after {@code ldap} (possibly empty), null for other methods.
     */
    public record Rule(Path file, int line, Method method, String identMap, String ldapOptions) { }

    private enum Type { LOCAL, HOST, HOSTSSL, HOSTNOSSL }

    private static final Map<String, Type> TYPES = Map.of(
            "local", Type.LOCAL, "host", Type.HOST, "hostssl", Type.HOSTSSL, "hostnossl", Type.HOSTNOSSL);

    // Case-sensitive, as PgBouncer compares them with strcmp.
    private static final Map<String, Method> METHODS = Map.of(
            "trust", Method.TRUST, "reject", Method.REJECT, "password", Method.PASSWORD, "md5", Method.MD5,
            "scram-sha-256", Method.SCRAM_SHA_256, "cert", Method.CERT, "peer", Method.PEER, "ldap", Method.LDAP);

    /**
     * PostgreSQL's limit. PgBouncer has none: an include loop opens files until descriptors run out,
     * starving connections meanwhile, and only then skips the line.
     */
    private static final int MAX_INCLUDE_DEPTH = 10;

    private record Names(boolean all, boolean sameUser, boolean replication, Set<String> names) {
        /** {@code other} is the connection's other name (user for a database, database for a user). */
        boolean matches(String name, String other) {
            return all || (sameUser && name.equals(other)) || names.contains(name);
        }
    }

    /** A network; null address means {@code all}. */
    private record Net(byte[] address, byte[] mask, String text) { }

    private record Entry(Type type, Names databases, Names users, Net net, Rule rule) {
        boolean matches(Connection connection, byte[] client, String database, String user, boolean replication) {
            if ((type == Type.LOCAL) != (connection == Connection.LOCAL)
                    || (type == Type.HOSTSSL && connection != Connection.HOST_TLS)
                    || (type == Type.HOSTNOSSL && connection != Connection.HOST_PLAIN)
                    || (type != Type.LOCAL && !inNet(client))) {
                return false;
            }
            // A physical replication connection names no real database: only the keyword matches it.
            boolean databaseMatches = replication ? databases.replication : databases.matches(database, user);
            return databaseMatches && users.matches(user, database);
        }

        private boolean inNet(byte[] client) {
            if (net.address == null) {
                return true;
            }
            if (client.length != net.address.length) {
                return false;
            }
            for (int i = 0; i < client.length; i++) {
                if ((client[i] & net.mask[i]) != net.address[i]) {
                    return false;
                }
            }
            return true;
        }
    }

    private final List<Entry> entries;
    private final List<Rule> rules;
    private final List<String> warnings;

    private HbaFile(List<Entry> entries, List<String> warnings) {
        this.entries = List.copyOf(entries);
        this.rules = entries.stream().map(Entry::rule).toList();
        this.warnings = List.copyOf(warnings);
    }

    /** Loads {@code file} with no auth_ident_file, so that every {@code map=} rule is skipped as PgBouncer does. */
    public static HbaFile load(Path file) throws IOException {
        return load(file, Set.of());
    }

    /**
     * Loads {@code file}; a rule whose {@code map=} names a map outside {@code identMaps} (the maps of
     * auth_ident_file) is skipped with a warning, as PgBouncer does.
     *
     * @throws IOException if {@code file} itself cannot be read (an unreadable {@code @file} only skips its rule)
     */
    public static HbaFile load(Path file, Set<String> identMaps) throws IOException {
        Objects.requireNonNull(identMaps, "identMaps");
        List<Entry> entries = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        List<String> lines = readLines(file);
        for (int i = 0; i < lines.size(); i++) {
            List<String> notes = new ArrayList<>();
            try {
                Entry entry = parseLine(lines.get(i), file, i + 1, identMaps, notes);
                if (entry != null) {
                    entries.add(entry);
                }
            } catch (Malformed e) {
                notes.add(e.getMessage() + "; line ignored");
            }
            for (String note : notes) {
                warnings.add(file + ":" + (i + 1) + ": " + note);
            }
        }
        return new HbaFile(entries, warnings);
    }

    /** The first rule matching a connection that is not physical replication, or null (PgBouncer then rejects). */
    public Rule match(Connection connection, InetAddress clientAddress, String database, String user) {
        return match(connection, clientAddress, database, user, false);
    }

    /**
     * The first rule matching the connection, or null when none matches (PgBouncer then rejects).
     *
     * @param clientAddress ignored (may be null) for {@link Connection#LOCAL}
     * @param physicalReplication the client asked for {@code replication=true}: only rules whose
     *     database column holds the {@code replication} keyword match, as in PgBouncer
     */
    public Rule match(Connection connection, InetAddress clientAddress, String database, String user,
            boolean physicalReplication) {
        Objects.requireNonNull(connection, "connection");
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
        byte[] client = connection == Connection.LOCAL ? null
                : clientBytes(Objects.requireNonNull(clientAddress, "clientAddress"));
        for (Entry entry : entries) {
            if (entry.matches(connection, client, database, user, physicalReplication)) {
                return entry.rule;
            }
        }
        return null;
    }

    /** The usable rules, in file order. */
    public List<Rule> rules() {
        return rules;
    }

    /** One {@code file:line: reason} per skipped line or suspicious rule, in file order. */
    public List<String> warnings() {
        return warnings;
    }

    @Override
    public String toString() {
        return "HbaFile[" + entries.size() + " rules, " + warnings.size() + " warnings]";
    }

    /**
     * PgBouncer listens with IPV6_V6ONLY, so an IPv4 client always reaches it as IPv4 and matches only
     * IPv4 rules; a dual-stack Java socket may show the same client as ::ffff:a.b.c.d, so it is unwrapped.
     */
    private static byte[] clientBytes(InetAddress address) {
        byte[] b = address.getAddress();
        if (b.length == 16 && b[10] == (byte) 0xff && b[11] == (byte) 0xff
                && Arrays.equals(b, 0, 10, new byte[10], 0, 10)) {
            return Arrays.copyOfRange(b, 12, 16);
        }
        return b;
    }

    private static Entry parseLine(String line, Path file, int lineNo, Set<String> identMaps, List<String> notes)
            throws Malformed {
        HbaTokens t = new HbaTokens(line);
        if (t.kind() == HbaTokens.Kind.END) {
            return null;
        }
        Type type = t.kind() == HbaTokens.Kind.WORD ? TYPES.get(t.text()) : null;
        if (type == null) {
            throw new Malformed("unknown connection type " + t.describe()
                    + " (expected local, host, hostssl or hostnossl)");
        }
        t.advance();
        Names databases = parseNames(t, "database", file);
        Names users = parseNames(t, "user", file);
        if (users.replication) {
            notes.add("the keyword replication in the user column matches no user (quote it to name a user)");
        }
        Net net = type == Type.LOCAL ? null : parseNet(t);
        if (net != null && net.address != null && !fitsMask(net)) {
            notes.add("address " + net.text() + " has bits set outside its mask, so the rule never matches");
        }
        Method method = t.kind() == HbaTokens.Kind.WORD ? METHODS.get(t.text()) : null;
        if (method == null) {
            throw new Malformed(t.kind() == HbaTokens.Kind.END ? "missing authentication method"
                    : "unsupported authentication method " + t.describe());
        }
        String ldapOptions = null;
        if (method == Method.LDAP) {
            // PgBouncer hands the raw rest of the line, comment included, to its LDAP option parser.
            ldapOptions = t.rest().strip();
            t.skipToEnd();
        } else {
            t.advance();
        }
        String identMap = null;
        if (t.kind() == HbaTokens.Kind.WORD) {
            if (!t.text().startsWith("map=")) {
                throw new Malformed("unsupported option " + t.describe() + " (only map=name is supported)");
            }
            identMap = t.text().substring(4);
            if (!identMaps.contains(identMap)) {
                throw new Malformed("ident map \"" + identMap + "\" is not in auth_ident_file");
            }
            t.advance();
        }
        if (t.kind() != HbaTokens.Kind.END) {
            throw new Malformed("unexpected " + t.describe() + " after the authentication method");
        }
        return new Entry(type, databases, users, net, new Rule(file, lineNo, method, identMap, ldapOptions));
    }

    /** A comma-separated list, without blanks between items mattering. */
    private static Names parseNames(HbaTokens t, String column, Path file) throws Malformed {
        NameList list = new NameList();
        addName(t, list, column, file, 0);
        while (t.kind() == HbaTokens.Kind.COMMA) {
            t.advance();
            addName(t, list, column, file, 0);
        }
        return list.build();
    }

    private static void addName(HbaTokens t, NameList into, String column, Path file, int depth) throws Malformed {
        if (t.kind() == HbaTokens.Kind.QUOTED) {
            into.names.add(t.text());
        } else if (t.kind() != HbaTokens.Kind.WORD) {
            throw new Malformed("missing " + column + " name"
                    + (t.kind() == HbaTokens.Kind.END ? "" : " before " + t.describe()));
        } else {
            switch (t.text()) {
                case "all" -> into.all = true;
                // PgBouncer takes these in the user column too (one parser for both); see the class comment.
                case "sameuser" -> into.sameUser = true;
                case "replication" -> into.replication = true;
                case "samerole", "samegroup" -> throw new Malformed(t.text() + " is not supported");
                default -> {
                    if (t.text().startsWith("+")) {
                        // PgBouncer knows no roles, so it refuses the line rather than guess membership.
                        throw new Malformed("group membership (" + t.text() + ") is not supported");
                    } else if (t.text().startsWith("@")) {
                        include(file.resolveSibling(t.text().substring(1)), into, column, depth + 1);
                    } else {
                        into.names.add(t.text());
                    }
                }
            }
        }
        t.advance();
    }

    /** Names from an {@code @file}, relative to the file naming it; keywords keep their meaning there. */
    private static void include(Path path, NameList into, String column, int depth) throws Malformed {
        if (depth > MAX_INCLUDE_DEPTH) {
            throw new Malformed("@file nesting deeper than " + MAX_INCLUDE_DEPTH + " at " + path
                    + " (an include loop?)");
        }
        List<String> lines;
        try {
            lines = readLines(path);
        } catch (NoSuchFileException e) {
            throw new Malformed("cannot read @file " + path + ": no such file");
        } catch (IOException e) {
            throw new Malformed("cannot read @file " + path + ": " + e);
        }
        for (int i = 0; i < lines.size(); i++) {
            try {
                HbaTokens t = new HbaTokens(lines.get(i));
                while (t.kind() != HbaTokens.Kind.END) {
                    if (t.kind() == HbaTokens.Kind.COMMA) {
                        t.advance();
                    } else {
                        addName(t, into, column, path, depth);
                    }
                }
            } catch (Malformed e) {
                throw e.in(path, i + 1);
            }
        }
    }

    private static Net parseNet(HbaTokens t) throws Malformed {
        if (t.isWord("all")) {
            t.advance();
            return new Net(null, null, "all");
        }
        if (t.kind() != HbaTokens.Kind.WORD) {
            throw new Malformed("missing address"
                    + (t.kind() == HbaTokens.Kind.END ? "" : ", found " + t.describe()));
        }
        String text = t.text();
        t.advance();
        int slash = text.indexOf('/');
        String host = slash < 0 ? text : text.substring(0, slash);
        byte[] address = IpLiteral.parse(host);
        if (address == null) {
            throw new Malformed(host.equals("samehost") || host.equals("samenet") ? host + " is not supported"
                    : "invalid IP address \"" + host + "\" (host names are not supported)");
        }
        if (slash >= 0) {
            int bits = prefixLength(text.substring(slash + 1), address.length * 8);
            if (bits < 0) {
                throw new Malformed("invalid CIDR mask in \"" + text + "\"");
            }
            byte[] mask = new byte[address.length];
            for (int i = 0; i < bits; i++) {
                mask[i / 8] |= (byte) (0x80 >>> (i % 8));
            }
            return new Net(address, mask, text);
        }
        if (t.kind() != HbaTokens.Kind.WORD) {
            throw new Malformed("missing netmask after address \"" + host + "\"");
        }
        byte[] mask = IpLiteral.parse(t.text());
        if (mask == null || mask.length != address.length) {
            throw new Malformed("invalid netmask " + t.describe() + " for address \"" + host + "\"");
        }
        String maskText = t.text();
        t.advance();
        return new Net(address, mask, host + " " + maskText);
    }

    /** strtoul's reading, as PgBouncer's: an empty length is 0, a sign is allowed, "-0" is 0. */
    private static int prefixLength(String s, int max) {
        boolean negative = s.startsWith("-");
        String digits = negative || s.startsWith("+") ? s.substring(1) : s;
        if (digits.isEmpty() && digits.length() != s.length()) {
            return -1;
        }
        long value = 0;
        for (int i = 0; i < digits.length(); i++) {
            char c = digits.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = Math.min(value * 10 + (c - '0'), Integer.MAX_VALUE);
        }
        return (negative && value != 0) || value > max ? -1 : (int) value;
    }

    private static boolean fitsMask(Net net) {
        for (int i = 0; i < net.address.length; i++) {
            if ((net.address[i] & ~net.mask[i]) != 0) {
                return false;
            }
        }
        return true;
    }

    private static List<String> readLines(Path path) throws IOException {
        // Names in the start-up packet are decoded as UTF-8 the same lenient way, so bytes compare alike.
        String text = new String(Files.readAllBytes(path), StandardCharsets.UTF_8);
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        return Arrays.asList(text.split("\n", -1));
    }

    /** The parts of a {@link Names} while its column is read. */
    private static final class NameList {
        boolean all;
        boolean sameUser;
        boolean replication;
        final Set<String> names = new HashSet<>();

        Names build() {
            return new Names(all, sameUser, replication, Set.copyOf(names));
        }
    }

    /** Why a line cannot be used; becomes a warning, so no stack trace is kept. */
    static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        private final boolean located;

        Malformed(String reason) {
            this(reason, false);
        }

        private Malformed(String reason, boolean located) {
            super(reason, null, false, false);
            this.located = located;
        }

        /** Names the {@code @file} line at fault; the innermost one, when includes nest. */
        Malformed in(Path file, int line) {
            return located ? this : new Malformed("in " + file + " line " + line + ": " + getMessage(), true);
        }
    }
}
