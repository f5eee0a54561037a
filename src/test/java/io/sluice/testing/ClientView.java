package io.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a client read from Sluice, framed as backend messages: the one-byte 'N' refusals of
 * SSLRequest and GSSENCRequest that come before any message, the messages, and the bytes of a
 * message cut off by the close. Sums it up as short strings (random salts, nonces and cancel
 * keys left out, so that two runs of one input compare equal), and checks what a client could
 * not parse.
 */
public final class ClientView {
    /** A backend message; {@code fields} of an ErrorResponse or NoticeResponse by their code. */
    public record Message(char type, byte[] body) {
        public Map<Character, String> fields() {
            Map<Character, String> f = new LinkedHashMap<>();
            int i = 0;
            while (i < body.length && body[i] != 0) {
                char code = (char) body[i++];
                int end = i;
                while (end < body.length && body[end] != 0) {
                    end++;
                }
                f.put(code, new String(body, i, end - i, StandardCharsets.UTF_8));
                i = end + 1;
            }
            return f;
        }

        public boolean isFatal() {
            return type == 'E' && "FATAL".equals(fields().get('S'));
        }

        /** Short and stable: the type, with what a user would read (no salts, nonces or keys). */
        public String describe() {
            ByteBuffer b = ByteBuffer.wrap(body);
            switch (type) {
                case 'R':
                    return body.length >= 4 ? "R:" + b.getInt() : "R:?";
                case 'S':
                case 'C':
                    return type + ":" + new String(body, StandardCharsets.UTF_8).replace('\0', '|');
                case 'Z':
                    return body.length == 1 ? "Z:" + (char) body[0] : "Z:?";
                case 'E':
                case 'N': {
                    Map<Character, String> f = fields();
                    return type + ":" + f.get('S') + ":" + f.get('C') + ":" + f.get('M');
                }
                default:
                    return String.valueOf(type);
            }
        }
    }

    public final int refusals;
    public final List<Message> messages;
    /** Bytes of an unfinished message at the end (0: none). */
    public final int partial;

    private ClientView(int refusals, List<Message> messages, int partial) {
        this.refusals = refusals;
        this.messages = messages;
        this.partial = partial;
    }

    /** Frames {@code writes}, the buffers Sluice wrote to the client, in order. */
    public static ClientView of(List<byte[]> writes) {
        int refusals = 0;
        int i = 0;
        while (i < writes.size() && writes.get(i).length == 1 && writes.get(i)[0] == 'N') {
            refusals++;
            i++;
        }
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (; i < writes.size(); i++) {
            all.writeBytes(writes.get(i));
        }
        byte[] d = all.toByteArray();
        List<Message> messages = new ArrayList<>();
        int pos = 0;
        while (d.length - pos >= 5) {
            int len = ByteBuffer.wrap(d, pos + 1, 4).getInt();
            if (len < 4 || len > d.length - pos - 1) {
                break;
            }
            byte[] body = new byte[len - 4];
            System.arraycopy(d, pos + 5, body, 0, body.length);
            messages.add(new Message((char) d[pos], body));
            pos += 1 + len;
        }
        return new ClientView(refusals, messages, d.length - pos);
    }

    /** The messages described, with the refusals first and a cut-off message last. */
    public List<String> summary() {
        List<String> s = new ArrayList<>();
        for (int i = 0; i < refusals; i++) {
            s.add("N(refused)");
        }
        for (Message m : messages) {
            s.add(m.describe());
        }
        if (partial > 0) {
            s.add("partial");
        }
        return s;
    }

    public boolean has(String description) {
        return messages.stream().anyMatch(m -> m.describe().equals(description));
    }

    /** Index of the first message described as {@code prefix...}, or -1. */
    public int indexOf(String prefix) {
        for (int i = 0; i < messages.size(); i++) {
            if (messages.get(i).describe().startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * What any client can parse: whole messages only, and every ErrorResponse with a severity
     * and a five-character SQLSTATE (PostgreSQL's clients report the code, libpq needs the
     * severity). Sluice's own messages and the scripted server's are always so; relayed garbage
     * is checked with {@link #assertFramed} only where the server sent whole messages.
     */
    public void assertWellFormed() {
        assertFramed();
        for (Message m : messages) {
            if (m.type() == 'E') {
                Map<Character, String> f = m.fields();
                assertThat(f.get('S')).as("severity of %s", m.describe()).isIn("ERROR", "FATAL", "PANIC");
                assertThat(f.get('C')).as("SQLSTATE of %s", m.describe()).isNotNull().matches("[0-9A-Z]{5}");
                assertThat(f.get('M')).as("message of %s", m.describe()).isNotBlank();
            }
        }
    }

    /** No message cut off: the client reads each one whole. */
    public void assertFramed() {
        assertThat(partial).as("bytes of a message cut off in %s", summary()).isZero();
    }

    /**
     * A connection Sluice ended after relaying a server's messages, whatever they were: its last
     * message is a FATAL.
     */
    public void assertLastIsFatal() {
        assertThat(messages).as("messages before the close").isNotEmpty();
        assertThat(messages.get(messages.size() - 1).isFatal()).as("last of %s is FATAL", summary()).isTrue();
    }

    /**
     * A connection Sluice ended: its last message is a FATAL (one relayed from the server may come
     * just before Sluice's own), and nothing but errors follow the first FATAL.
     */
    public void assertEndsInFatal() {
        assertThat(messages).as("messages before the close").isNotEmpty();
        assertThat(messages.get(messages.size() - 1).isFatal()).as("last of %s is FATAL", summary()).isTrue();
        boolean fatal = false;
        for (Message m : messages) {
            assertThat(!fatal || m.type() == 'E').as("only errors after a FATAL in %s", summary()).isTrue();
            fatal |= m.isFatal();
        }
    }
}
