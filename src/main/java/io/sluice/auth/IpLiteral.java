package io.sluice.auth;

/**
 * Parses a numeric IPv4 or IPv6 address exactly as glibc's inet_pton does, without any name lookup.
 *
 * <p>InetAddress.getByName would resolve anything that is not a literal and accepts forms inet_pton
 * refuses ({@code 127.1}, zone ids), which would let an hba file mean something else here than in PgBouncer.
 */
final class IpLiteral {

    private IpLiteral() {
    }

    /** 4 bytes for IPv4, 16 for IPv6 (an IPv4-mapped form stays 16), or null when {@code text} is neither. */
    static byte[] parse(String text) {
        return text.indexOf(':') >= 0 ? parseV6(text) : parseV4(text);
    }

    /** Dotted quad, four decimal parts of at most 255; inet_pton refuses leading zeros. */
    private static byte[] parseV4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            String part = parts[i];
            if (part.isEmpty() || part.length() > 3 || (part.length() > 1 && part.charAt(0) == '0')) {
                return null;
            }
            int value = 0;
            for (int j = 0; j < part.length(); j++) {
                char c = part.charAt(j);
                if (c < '0' || c > '9') {
                    return null;
                }
                value = value * 10 + (c - '0');
            }
            if (value > 255) {
                return null;
            }
            out[i] = (byte) value;
        }
        return out;
    }

    /** Eight groups of 1 to 4 hex digits, one "::" for at least one zero group, an optional dotted-quad tail. */
    private static byte[] parseV6(String text) {
        int gap = text.indexOf("::");
        if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) {
            return null;
        }
        int[] head = groups(gap < 0 ? text : text.substring(0, gap), gap < 0);
        int[] tail = gap < 0 ? new int[0] : groups(text.substring(gap + 2), true);
        if (head == null || tail == null) {
            return null;
        }
        int count = head.length + tail.length;
        if (gap < 0 ? count != 8 : count > 7) {
            return null;
        }
        byte[] out = new byte[16];
        for (int i = 0; i < head.length; i++) {
            putGroup(out, i, head[i]);
        }
        for (int i = 0; i < tail.length; i++) {
            putGroup(out, 8 - tail.length + i, tail[i]);
        }
        return out;
    }

    /** The 16-bit groups of one side of "::"; only the address's last group may be a dotted quad. */
    private static int[] groups(String side, boolean mayEndInV4) {
        if (side.isEmpty()) {
            return new int[0];
        }
        String[] parts = side.split(":", -1);
        String last = parts[parts.length - 1];
        boolean v4 = mayEndInV4 && last.indexOf('.') >= 0;
        int[] out = new int[parts.length + (v4 ? 1 : 0)];
        for (int i = 0; i < parts.length - (v4 ? 1 : 0); i++) {
            out[i] = hexGroup(parts[i]);
            if (out[i] < 0) {
                return null;
            }
        }
        if (v4) {
            byte[] quad = parseV4(last);
            if (quad == null) {
                return null;
            }
            out[out.length - 2] = ((quad[0] & 0xff) << 8) | (quad[1] & 0xff);
            out[out.length - 1] = ((quad[2] & 0xff) << 8) | (quad[3] & 0xff);
        }
        return out;
    }

    private static int hexGroup(String part) {
        if (part.isEmpty() || part.length() > 4) {
            return -1;
        }
        int value = 0;
        for (int i = 0; i < part.length(); i++) {
            // Character.digit would also take non-ASCII digits.
            int index = "0123456789abcdefABCDEF".indexOf(part.charAt(i));
            if (index < 0) {
                return -1;
            }
            value = value * 16 + (index < 16 ? index : index - 6);
        }
        return value;
    }

    private static void putGroup(byte[] out, int index, int value) {
        out[2 * index] = (byte) (value >>> 8);
        out[2 * index + 1] = (byte) value;
    }
}
