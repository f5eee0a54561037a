package io.sluice.testing;

import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Runs a property over generated cases, the fuzz tests' own small engine: each case comes from
 * a Random seeded from one run seed, so any failure is reproduced by its seed; a failing case is
 * shrunk (greedily, through the case's own smaller versions) before it is reported.
 *
 * <p>Bounded for the normal build; longer campaigns set, as system properties (Maven passes
 * {@code -D} on its command line to the test JVM), {@code sluice.fuzz.tries} (cases per property)
 * and {@code sluice.fuzz.seed} (a number, or {@code random}). See docs/fuzzing.md.
 *
 * <p>Hand-written, not a library: jqwik's maintainers ask, from 1.10 on, that it not be used
 * with AI coding agents. Jazzer, used beside it for coverage-guided runs (the *JazzerTest
 * classes), fuzzes one test per JVM and is slow to start; these properties run hundreds of
 * shrinkable cases each in seconds. docs/fuzzing.md says more.
 */
public final class Fuzz {
    /** The run seed of a plain build: fixed, so that everyone's build tries the same cases. */
    private static final long DEFAULT_SEED = 0x5111CE_2212L;
    /** Shrinking stops after this many candidate runs: a long report beats a hung build. */
    private static final int SHRINK_BUDGET = 2_000;

    private Fuzz() {
    }

    /** {@code normal} unless {@code sluice.fuzz.tries} says otherwise. */
    public static int tries(int normal) {
        String s = System.getProperty("sluice.fuzz.tries", "");
        return s.isBlank() ? normal : Integer.parseInt(s.trim());
    }

    static long runSeed() {
        String s = System.getProperty("sluice.fuzz.seed", "").trim();
        if (s.isEmpty()) {
            return DEFAULT_SEED;
        }
        return s.equals("random") ? new Random().nextLong() : Long.parseLong(s);
    }

    /**
     * Checks {@code property} on {@link #tries}({@code tries}) cases from {@code generate}; on the
     * first failure shrinks the case through {@code smaller} and fails with the smallest case
     * that still fails, its seed, and its failure as the cause.
     */
    public static <T> void check(String property, int tries, Function<Random, T> generate,
            Function<T, List<T>> smaller, Consumer<T> check) {
        long seed = runSeed();
        int n = tries(tries);
        Random seeds = new Random(seed);
        for (int i = 0; i < n; i++) {
            long caseSeed = seeds.nextLong();
            T c = generate.apply(new Random(caseSeed));
            Throwable failure = run(check, c);
            if (failure != null) {
                Shrunk<T> s = shrink(c, failure, smaller, check);
                AssertionError e = new AssertionError(property + " fails on case " + (i + 1) + " of " + n
                        + " (run seed " + seed + ", -Dsluice.fuzz.seed=" + seed + "; shrunk in " + s.steps
                        + " steps)\n  case: " + s.value + "\n  failure: " + s.failure, s.failure);
                throw e;
            }
        }
    }

    private record Shrunk<T>(T value, Throwable failure, int steps) {
    }

    private static <T> Shrunk<T> shrink(T c, Throwable failure, Function<T, List<T>> smaller, Consumer<T> check) {
        int budget = SHRINK_BUDGET;
        int steps = 0;
        boolean progress = true;
        while (progress && budget > 0) {
            progress = false;
            for (T candidate : smaller.apply(c)) {
                if (--budget < 0) {
                    break;
                }
                Throwable f = run(check, candidate);
                if (f != null) {
                    c = candidate;
                    failure = f;
                    steps++;
                    progress = true;
                    break;
                }
            }
        }
        return new Shrunk<>(c, failure, steps);
    }

    /** The case's failure: an assertion, or anything that escaped the code under test; null if it held. */
    private static <T> Throwable run(Consumer<T> check, T c) {
        try {
            check.accept(c);
            return null;
        } catch (Throwable t) {
            if (t instanceof VirtualMachineError && !(t instanceof OutOfMemoryError)) {
                throw (VirtualMachineError) t;
            }
            return t;
        }
    }
}
