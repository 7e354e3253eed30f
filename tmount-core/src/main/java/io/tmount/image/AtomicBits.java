package io.tmount.image;

import java.util.concurrent.atomic.AtomicLongArray;

/** A fixed-size bit set whose single-bit updates are atomic, for per-block state touched by concurrent requests. */
final class AtomicBits {

    private final AtomicLongArray words;
    private final long bits;

    AtomicBits(long bits) {
        this.bits = bits;
        this.words = new AtomicLongArray((int) ((bits + 63) >>> 6));
    }

    AtomicBits(long bits, long[] saved) {
        this(bits);
        for (int i = 0; i < Math.min(saved.length, words.length()); i++) {
            words.set(i, saved[i]);
        }
    }

    boolean get(long bit) {
        return (words.get((int) (bit >>> 6)) & (1L << bit)) != 0;
    }

    void set(long bit) {
        int word = (int) (bit >>> 6);
        long mask = 1L << bit;
        long old;
        do {
            old = words.get(word);
        } while ((old & mask) == 0 && !words.compareAndSet(word, old, old | mask));
    }

    void clear(long bit) {
        int word = (int) (bit >>> 6);
        long mask = 1L << bit;
        long old;
        do {
            old = words.get(word);
        } while ((old & mask) != 0 && !words.compareAndSet(word, old, old & ~mask));
    }

    void set(long from, long to) {
        for (long bit = from; bit < to; bit++) {
            set(bit);
        }
    }

    void clear(long from, long to) {
        for (long bit = from; bit < to; bit++) {
            clear(bit);
        }
    }

    long cardinality() {
        long count = 0;
        for (int i = 0; i < words.length(); i++) {
            count += Long.bitCount(words.get(i));
        }
        return count;
    }

    /** How many bits are set both here and in {@code other} (of the same size). */
    long cardinalityAnd(AtomicBits other) {
        long count = 0;
        for (int i = 0; i < words.length(); i++) {
            count += Long.bitCount(words.get(i) & other.words.get(i));
        }
        return count;
    }

    long[] snapshot() {
        long[] copy = new long[words.length()];
        for (int i = 0; i < copy.length; i++) {
            copy[i] = words.get(i);
        }
        return copy;
    }

    long size() {
        return bits;
    }
}
