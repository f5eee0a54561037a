package io.sluice.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads pgbouncer.ini's INI dialect into lines, following {@code %include}s.
 *
 * <p>The rules are PgBouncer's (libusual cfparser): comment lines start with {@code ;} or
 * {@code #}; there are no trailing comments, so a {@code ;} inside a value is part of it;
 * keys are made of letters, digits and {@code _.-*}; section and key names are
 * case-sensitive. The current section carries into and out of an included file, as in
 * PgBouncer. One deliberate difference: a relative {@code %include} path is resolved against
 * the including file's directory, not the process's working directory, so a config behaves
 * the same whichever directory Sluice is started from.
 */
final class IniReader {
    /** PgBouncer's MAX_INCLUDE; deeper nesting is almost certainly a mistake. */
    private static final int MAX_INCLUDE_DEPTH = 10;

    /** What one read produced: the key/value lines in order, and where each section first appeared. */
    record Result(List<IniEntry> entries, Map<String, String> sectionsSeen) {
    }

    private final Set<String> knownSections;
    private final List<IniEntry> entries = new ArrayList<>();
    private final Map<String, String> sectionsSeen = new LinkedHashMap<>();
    private final Deque<Path> includeStack = new ArrayDeque<>();
    private String section;

    private IniReader(Set<String> knownSections) {
        this.knownSections = knownSections;
    }

    /** Reads {@code file} and everything it includes; a header naming another section is an error. */
    static Result read(Path file, Set<String> knownSections) throws ConfigException {
        IniReader reader = new IniReader(knownSections);
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file, "config file not found");
        } catch (IOException e) {
            throw new ConfigException(file, "cannot read config file: " + e);
        }
        reader.readFile(file, lines);
        return new Result(List.copyOf(reader.entries), Map.copyOf(reader.sectionsSeen));
    }

    private void readFile(Path file, List<String> lines) throws ConfigException {
        includeStack.push(realPath(file));
        for (int i = 0; i < lines.size(); i++) {
            readLine(file, i + 1, lines.get(i));
        }
        includeStack.pop();
    }

    private void readLine(Path file, int lineNo, String raw) throws ConfigException {
        String line = raw.strip();
        if (line.isEmpty() || line.charAt(0) == '#' || line.charAt(0) == ';') {
            return;
        }
        if (line.startsWith("%include") && line.length() > 8 && Character.isWhitespace(line.charAt(8))) {
            include(file, lineNo, line.substring(9).strip());
            return;
        }
        if (line.charAt(0) == '[') {
            if (!line.endsWith("]")) {
                throw new ConfigException(file, lineNo, null, "syntax error: section header without closing ]");
            }
            String name = line.substring(1, line.length() - 1).strip();
            if (!knownSections.contains(name)) {
                throw new ConfigException(file, lineNo, "[" + name + "]",
                        "unknown section (expected one of " + knownSections.stream().sorted()
                                .collect(Collectors.joining(", ")) + ")");
            }
            section = name;
            sectionsSeen.putIfAbsent(name, file + ":" + lineNo);
            return;
        }
        int end = 0;
        while (end < line.length() && isKeyChar(line.charAt(end))) {
            end++;
        }
        String key = line.substring(0, end);
        String rest = line.substring(end).stripLeading();
        if (key.isEmpty() || rest.isEmpty() || rest.charAt(0) != '=') {
            throw new ConfigException(file, lineNo, null,
                    "syntax error: expected \"key = value\", a [section] or a comment");
        }
        if (section == null) {
            throw new ConfigException(file, lineNo, key, "setting outside of any [section]");
        }
        entries.add(new IniEntry(section, key, rest.substring(1).strip(), file, lineNo));
    }

    private static boolean isKeyChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '_' || c == '.' || c == '-' || c == '*';
    }

    private void include(Path file, int lineNo, String target) throws ConfigException {
        if (target.isEmpty()) {
            throw new ConfigException(file, lineNo, "%include", "missing file name");
        }
        if (includeStack.size() >= MAX_INCLUDE_DEPTH) {
            throw new ConfigException(file, lineNo, "%include",
                    "includes nested deeper than " + MAX_INCLUDE_DEPTH);
        }
        Path dir = file.toAbsolutePath().getParent();
        Path included = dir == null ? Path.of(target) : dir.resolve(target);
        Path real = realPath(included);
        if (includeStack.contains(real)) {
            throw new ConfigException(file, lineNo, "%include", "include loop: \"" + target
                    + "\" is already being read");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(included, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file, lineNo, "%include", "file not found: " + included);
        } catch (IOException e) {
            throw new ConfigException(file, lineNo, "%include", "cannot read " + included + ": " + e);
        }
        readFile(included, lines);
    }

    /** The real path when it exists, so a loop through symlinks or "../" is still seen as one. */
    private static Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }
}
