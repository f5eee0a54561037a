package io.sluice.testing;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

/**
 * Hostile byte streams for the protocol fuzz tests: runs of seed messages, each maybe mutated
 * the ways a broken or malicious peer would (a length field of 2 GB, negative, under 4, or one
 * off; truncated; bytes flipped, inserted, deleted or repeated), or bytes of no shape at all;
 * then cut into reads at random points. A {@link Stream} knows its smaller versions (fewer
 * parts, mutations, cuts, bytes), through which {@link Fuzz} shrinks a failing one.
 */
public final class Hostile {
    private Hostile() {
    }

    /** Length fields worth trying: the minimums, Sluice's caps and their neighbours, 2 GB, negatives. */
    static final int[] LENGTHS = {Integer.MIN_VALUE, -2, -1, 0, 1, 3, 4, 5, 7, 8, 9, 16, 255, 10_000, 10_001,
        65_536, 1 << 20, (1 << 20) + 1, 1 << 30, 2_000_000_000, Integer.MAX_VALUE};

    /** One change to a seed; {@code at} is taken modulo the seed's length. */
    public record Mutation(Kind kind, int at, int value) {
        public enum Kind { FLIP, SET, INSERT, DELETE, TRUNCATE, LENGTH, REPEAT }

        static Mutation random(Random r) {
            Kind[] kinds = Kind.values();
            return new Mutation(kinds[r.nextInt(kinds.length)], r.nextInt(1 << 30), r.nextInt());
        }

        byte[] apply(byte[] in) {
            if (in.length == 0) {
                return kind == Kind.INSERT ? new byte[] {(byte) value} : in;
            }
            int i = Math.floorMod(at, in.length);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            switch (kind) {
                case FLIP -> {
                    byte[] b = in.clone();
                    b[i] ^= (byte) (1 << Math.floorMod(value, 8));
                    return b;
                }
                case SET -> {
                    byte[] b = in.clone();
                    b[i] = (byte) value;
                    return b;
                }
                case INSERT -> {
                    out.write(in, 0, i);
                    out.write(value);
                    out.write(in, i, in.length - i);
                    return out.toByteArray();
                }
                case DELETE -> {
                    out.write(in, 0, i);
                    out.write(in, i + 1, in.length - i - 1);
                    return out.toByteArray();
                }
                case TRUNCATE -> {
                    out.write(in, 0, i);
                    return out.toByteArray();
                }
                case LENGTH -> {
                    // Mostly the message's own length field (byte 1 of a typed message, 0 of an
                    // untyped one), else four bytes anywhere.
                    int where = Math.floorMod(value, 3);
                    int pos = where == 0 ? i : where == 1 ? 1 : 0;
                    byte[] b = in.length >= pos + 4 ? in.clone() : Arrays.copyOf(in, pos + 4);
                    int v = LENGTHS[Math.floorMod(value >> 2, LENGTHS.length)];
                    b[pos] = (byte) (v >>> 24);
                    b[pos + 1] = (byte) (v >>> 16);
                    b[pos + 2] = (byte) (v >>> 8);
                    b[pos + 3] = (byte) v;
                    return b;
                }
                default -> {
                    int n = 1 + Math.floorMod(value, Math.min(64, in.length - i));
                    out.write(in, 0, i + n);
                    out.write(in, i, in.length - i);
                    return out.toByteArray();
                }
            }
        }
    }

    /** A seed (by its index in the seed list) with mutations applied in order. */
    public record Part(int seed, byte[] bytes0, List<Mutation> mutations) {
        byte[] bytes() {
            byte[] b = bytes0;
            for (Mutation m : mutations) {
                b = m.apply(b);
            }
            return b;
        }

        @Override
        public String toString() {
            return "#" + seed + (mutations.isEmpty() ? "" : mutations.toString());
        }
    }

    /**
     * One input: seed parts (or, when {@code noise} is not null, bytes of no shape) cut into
     * reads at {@code cuts} (taken modulo the length, duplicates merged).
     */
    public record Stream(List<Part> parts, byte[] noise, List<Integer> cuts) {
        public byte[] bytes() {
            if (noise != null) {
                return noise;
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Part p : parts) {
                out.writeBytes(p.bytes());
            }
            return out.toByteArray();
        }

        /** The bytes cut into reads. */
        public List<byte[]> reads() {
            byte[] data = bytes();
            TreeSet<Integer> at = new TreeSet<>();
            for (int c : cuts) {
                if (data.length > 1) {
                    at.add(1 + Math.floorMod(c, data.length - 1));
                }
            }
            return cutAt(data, at);
        }

        /** Smaller versions, most promising first: without a part, a mutation, a cut, or bytes. */
        public List<Stream> smaller() {
            List<Stream> out = new ArrayList<>();
            if (noise != null) {
                for (int len = noise.length / 2; len > 0 && len < noise.length; len = (len + noise.length + 1) / 2) {
                    out.add(new Stream(null, Arrays.copyOf(noise, len), cuts));
                    out.add(new Stream(null, Arrays.copyOfRange(noise, noise.length - len, noise.length), cuts));
                }
                for (int i = 0; i < noise.length; i++) {
                    byte[] b = new byte[noise.length - 1];
                    System.arraycopy(noise, 0, b, 0, i);
                    System.arraycopy(noise, i + 1, b, i, b.length - i);
                    out.add(new Stream(null, b, cuts));
                }
            } else {
                for (int i = 0; i < parts.size() && parts.size() > 1; i++) {
                    List<Part> p = new ArrayList<>(parts);
                    p.remove(i);
                    out.add(new Stream(p, null, cuts));
                }
                for (int i = 0; i < parts.size(); i++) {
                    Part part = parts.get(i);
                    for (int m = 0; m < part.mutations().size(); m++) {
                        List<Mutation> ms = new ArrayList<>(part.mutations());
                        ms.remove(m);
                        List<Part> p = new ArrayList<>(parts);
                        p.set(i, new Part(part.seed(), part.bytes0(), ms));
                        out.add(new Stream(p, null, cuts));
                    }
                }
            }
            for (int i = 0; i < cuts.size(); i++) {
                List<Integer> c = new ArrayList<>(cuts);
                c.remove(i);
                out.add(new Stream(parts, noise, c));
            }
            return out;
        }

        @Override
        public String toString() {
            List<byte[]> reads = reads();
            StringBuilder s = new StringBuilder();
            s.append(noise != null ? "noise" : "parts " + parts).append(", ").append(reads.size()).append(" reads: ");
            for (int i = 0; i < reads.size(); i++) {
                s.append(i == 0 ? "" : " | ").append(hex(reads.get(i)));
            }
            return s.toString();
        }
    }

    /**
     * A stream of 1..{@code maxParts} seeds (each mutated about one time in three), or one time
     * in {@code noiseOneIn} up to 48 random bytes; cut into up to 6 reads.
     */
    public static Stream stream(Random r, List<byte[]> seeds, int maxParts, int noiseOneIn) {
        return stream(r, List.of(), seeds, maxParts, noiseOneIn);
    }

    /** As {@link #stream(Random, List, int, int)}, but seed parts follow one of {@code openings}, unmutated. */
    public static Stream stream(Random r, List<byte[]> openings, List<byte[]> seeds, int maxParts, int noiseOneIn) {
        List<Integer> cuts = new ArrayList<>();
        for (int i = r.nextInt(7); i > 0; i--) {
            cuts.add(r.nextInt(1 << 20));
        }
        if (noiseOneIn > 0 && r.nextInt(noiseOneIn) == 0) {
            byte[] b = new byte[r.nextInt(49)];
            r.nextBytes(b);
            return new Stream(null, b, cuts);
        }
        List<Part> parts = new ArrayList<>();
        if (!openings.isEmpty()) {
            // Seeds are numbered after the openings: index -1 - i for opening i.
            int o = r.nextInt(openings.size());
            parts.add(new Part(-1 - o, openings.get(o), List.of()));
        }
        for (int i = openings.isEmpty() ? 1 + r.nextInt(maxParts) : r.nextInt(maxParts + 1); i > 0; i--) {
            int s = r.nextInt(seeds.size());
            List<Mutation> ms = new ArrayList<>();
            if (r.nextInt(3) == 0) {
                for (int m = 1 + r.nextInt(3); m > 0; m--) {
                    ms.add(Mutation.random(r));
                }
            }
            parts.add(new Part(s, seeds.get(s), ms));
        }
        return new Stream(parts, null, cuts);
    }

    /**
     * For a short stream, every way the existing tests cut one: at each single byte, and one
     * byte per read. Empty for a stream longer than {@code upTo}.
     */
    public static List<List<byte[]>> everySplit(byte[] data, int upTo) {
        List<List<byte[]>> out = new ArrayList<>();
        if (data.length > upTo) {
            return out;
        }
        for (int cut = 1; cut < data.length; cut++) {
            out.add(cutAt(data, new TreeSet<>(List.of(cut))));
        }
        TreeSet<Integer> all = new TreeSet<>();
        for (int i = 1; i < data.length; i++) {
            all.add(i);
        }
        if (data.length > 2) {
            out.add(cutAt(data, all));
        }
        return out;
    }

    private static List<byte[]> cutAt(byte[] data, TreeSet<Integer> at) {
        List<byte[]> reads = new ArrayList<>();
        int prev = 0;
        for (int c : at) {
            reads.add(Arrays.copyOfRange(data, prev, c));
            prev = c;
        }
        reads.add(Arrays.copyOfRange(data, prev, data.length));
        return reads;
    }

    /**
     * Whether a client stream asks for a close that needs no error: a CancelRequest, or a
     * Terminate ('X', whatever its length says) where a message starts. Start-up packets are
     * skipped first when {@code startup} is set.
     */
    public static boolean asksToClose(byte[] data, boolean startup) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(data);
        int pos = 0;
        while (startup && data.length - pos >= 8) {
            int len = b.getInt(pos);
            int code = b.getInt(pos + 4);
            if (code == 80877102) {
                return true;
            }
            if (len < 8) {
                return false;
            }
            pos += len;
            if (code == 196608) {
                break;
            }
        }
        while (pos >= 0 && data.length - pos >= 1) {
            if (data[pos] == 'X') {
                return true;
            }
            if (data.length - pos < 5 || b.getInt(pos + 1) < 4) {
                return false;
            }
            pos += 1 + b.getInt(pos + 1);
        }
        return false;
    }

    /** Hex, for a failing input in a report. */
    public static String hex(byte[] data) {
        String h = HexFormat.of().formatHex(data);
        return h.length() <= 400 ? h : h.substring(0, 400) + "...(" + data.length + " bytes)";
    }
}
