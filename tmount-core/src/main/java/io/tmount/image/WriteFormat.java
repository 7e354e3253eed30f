package io.tmount.image;

import io.tmount.TmountException;
import io.tmount.compress.Compression;
import io.tmount.compress.FramedWriter;
import io.tmount.header.Header;

import java.util.Map;

/**
 * How new builds are written: the data object's compression (with its level and frame size) and the header version.
 * A null version means e2b's own choice: a base build gets version 3 without compression and 4 with it; a layer
 * inherits its parent's version, or takes 4 (5 over a version 5 parent) when it is compressed, as e2b's uploader
 * does. Version 3 headers cannot describe compressed data.
 */
public record WriteFormat(Compression compression, int level, int frameSize, Integer headerVersion) {

    public static final WriteFormat DEFAULT = new WriteFormat(Compression.NONE, 0, FramedWriter.DEFAULT_FRAME_SIZE, null);

    public WriteFormat {
        if (compression == null) {
            compression = Compression.NONE;
        }
        if (frameSize <= 0) {
            frameSize = FramedWriter.DEFAULT_FRAME_SIZE;
        }
        if (frameSize % 4096 != 0 || frameSize > 256 << 20) {
            throw TmountException.invalid("frame size %d must be a multiple of 4 KiB and at most 256 MiB (e2b's rule: "
                    + "no block may straddle two frames)", frameSize);
        }
        if (headerVersion != null && (headerVersion < 3 || headerVersion > Header.NEWEST)) {
            throw TmountException.invalid("header version %d is not one tmount writes (3, 4 or 5)", headerVersion);
        }
        if (headerVersion != null && headerVersion < 4 && compression != Compression.NONE) {
            throw TmountException.invalid("a version %d header cannot describe %s-compressed data; use header "
                    + "version 4 or 5, or no compression", headerVersion, compression.label());
        }
        if (compression == Compression.ZSTD && (level < -7 || level > 22)) {
            throw TmountException.invalid("zstd level %d is outside -7..22", level);
        }
    }

    /** This format with each given (non-null) setting in place of its own: what a request asks on top of defaults. */
    public WriteFormat overriding(String compression, Integer level, Integer frameSize, Integer version) {
        Compression c = compression == null ? this.compression : Compression.parse(compression);
        return new WriteFormat(c, level == null ? this.level : level, frameSize == null ? this.frameSize : frameSize,
                version == null ? this.headerVersion : version);
    }

    public WriteFormat withCompression(Compression c) {
        return new WriteFormat(c, level, frameSize, headerVersion);
    }

    public WriteFormat withHeaderVersion(Integer version) {
        return new WriteFormat(compression, level, frameSize, version);
    }

    /**
     * e2b's compression settings from its environment variables: {@code COMPRESS_ENABLED} (true to compress),
     * {@code COMPRESS_TYPE} (zstd or lz4), {@code COMPRESS_LEVEL}, {@code COMPRESS_FRAME_SIZE_KB}.
     */
    public static WriteFormat fromEnvironment(Map<String, String> env) {
        boolean enabled = Boolean.parseBoolean(env.getOrDefault("COMPRESS_ENABLED", "false").trim());
        Compression compression = enabled ? Compression.parse(env.get("COMPRESS_TYPE")) : Compression.NONE;
        return new WriteFormat(compression, integer(env, "COMPRESS_LEVEL", 0),
                integer(env, "COMPRESS_FRAME_SIZE_KB", 0) * 1024, null);
    }

    /** The header version of a new build over {@code parent} (null: a base build). */
    public int versionFor(Header parent) {
        if (headerVersion != null) {
            return headerVersion;
        }
        boolean compressed = compression != Compression.NONE;
        if (parent == null) {
            return compressed ? 4 : Header.VERSION;
        }
        return compressed ? Math.max(4, parent.format()) : parent.format();
    }

    private static int integer(Map<String, String> env, String name, int fallback) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw TmountException.invalid("%s '%s' is not a whole number", name, value);
        }
    }
}
