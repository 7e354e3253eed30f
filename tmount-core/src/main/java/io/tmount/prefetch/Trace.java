package io.tmount.prefetch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a build's mounts read first: device chunks of {@code unit} bytes, in the order they were first read. Stored as
 * text, a header line and a chunk index per line, so an operator can read it.
 *
 * @param unit   bytes per chunk
 * @param chunks chunk indexes (offset / unit), each once, in first-read order
 */
public record Trace(int unit, long[] chunks) {

    static final String MAGIC = "tmount-trace 1";

    public Trace {
        if (unit < 4096 || Integer.bitCount(unit) != 1) {
            throw new IllegalArgumentException("trace unit (" + unit + ") must be a power of two of at least 4096");
        }
        chunks = chunks.clone();
    }

    @Override
    public long[] chunks() {
        return chunks.clone();
    }

    public int size() {
        return chunks.length;
    }

    /** This trace with {@code other}'s chunks it does not have yet appended, at most {@code max} chunks in all. */
    public Trace merge(Trace other, int max) {
        if (other.unit != unit) {
            return other.size() > size() ? other.limit(max) : limit(max); // recorded with another chunk size: keep one
        }
        Set<Long> all = new LinkedHashSet<>();
        Arrays.stream(chunks).forEach(all::add);
        Arrays.stream(other.chunks).forEach(all::add);
        return new Trace(unit, all.stream().limit(max).mapToLong(Long::longValue).toArray());
    }

    private Trace limit(int max) {
        return chunks.length <= max ? this : new Trace(unit, Arrays.copyOf(chunks, max));
    }

    public String format() {
        StringBuilder text = new StringBuilder(MAGIC).append(" unit=").append(unit).append('\n');
        for (long chunk : chunks) {
            text.append(chunk).append('\n');
        }
        return text.toString();
    }

    /** Parses {@link #format}'s text; a damaged trace is refused (it only costs a prefetch). */
    public static Trace parse(String text) {
        String[] lines = text.split("\n");
        if (lines.length == 0 || !lines[0].startsWith(MAGIC + " unit=")) {
            throw new IllegalArgumentException("not a tmount trace");
        }
        int unit = Integer.parseInt(lines[0].substring((MAGIC + " unit=").length()).strip());
        List<Long> chunks = new ArrayList<>(lines.length - 1);
        for (int i = 1; i < lines.length; i++) {
            if (!lines[i].isBlank()) {
                long chunk = Long.parseLong(lines[i].strip());
                if (chunk < 0) {
                    throw new IllegalArgumentException("negative chunk " + chunk + " in a trace");
                }
                chunks.add(chunk);
            }
        }
        return new Trace(unit, chunks.stream().mapToLong(Long::longValue).toArray());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Trace t && t.unit == unit && Arrays.equals(t.chunks, chunks);
    }

    @Override
    public int hashCode() {
        return 31 * unit + Arrays.hashCode(chunks);
    }

    @Override
    public String toString() {
        return "Trace[unit=" + unit + ", " + chunks.length + " chunks]";
    }
}
