package io.tmount.compress;

import io.tmount.TmountException;

import java.util.Locale;

/**
 * How a build's data object is stored, with e2b's codes (the frame table's compression type) and object name
 * suffixes: {@code rootfs.ext4}, {@code rootfs.ext4.zstd}, {@code rootfs.ext4.lz4}.
 */
public enum Compression {
    NONE(0, ""),
    ZSTD(1, ".zstd"),
    LZ4(2, ".lz4");

    private final int code;
    private final String suffix;

    Compression(int code, String suffix) {
        this.code = code;
        this.suffix = suffix;
    }

    public int code() {
        return code;
    }

    /** What e2b appends to the data object's name. */
    public String suffix() {
        return suffix;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The compression of a frame table's type code; null for a code e2b does not define. */
    public static Compression ofCode(long code) {
        for (Compression c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return null;
    }

    /** Parses {@code zstd}, {@code lz4} or {@code none} (any case); an empty value is none, as in e2b's config. */
    public static Compression parse(String value) {
        if (value == null || value.isBlank()) {
            return NONE;
        }
        for (Compression c : values()) {
            if (c.label().equalsIgnoreCase(value.trim())) {
                return c;
            }
        }
        throw TmountException.invalid("compression '%s' is not one of zstd, lz4, none", value);
    }
}
