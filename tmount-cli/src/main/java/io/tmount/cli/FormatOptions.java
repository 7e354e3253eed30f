package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.TmountException;
import io.tmount.image.WriteFormat;
import picocli.CommandLine.Option;

/** How a new build is written: a mixin of commit, build and template create/import. */
final class FormatOptions {

    @Option(names = "--compression", paramLabel = "zstd|lz4|none",
            description = "Store the build's data compressed in frames, as e2b does with COMPRESS_ENABLED (default: "
                    + "e2b's COMPRESS_ENABLED/COMPRESS_TYPE, else none).")
    String compression;

    @Option(names = "--compression-level", paramLabel = "N",
            description = "zstd level (default: COMPRESS_LEVEL, else zstd's own default, 3).")
    Integer level;

    @Option(names = "--frame-size", paramLabel = "SIZE",
            description = "Uncompressed bytes per frame, a multiple of 4K (default: COMPRESS_FRAME_SIZE_KB, else 2M).")
    String frameSize;

    @Option(names = "--header-version", paramLabel = "3|4|5",
            description = "Header version (default: e2b's choice: the parent's version; 3 for a base build; 4 when "
                    + "compressed).")
    Integer headerVersion;

    /** The format: these options over {@code defaults} (e2b's environment variables). */
    WriteFormat over(WriteFormat defaults) {
        return defaults.overriding(compression, level, frameSize(), headerVersion);
    }

    Integer frameSize() {
        if (frameSize == null) {
            return null;
        }
        long bytes = ByteSize.parse(frameSize).bytes();
        if (bytes > Integer.MAX_VALUE) {
            throw TmountException.invalid("--frame-size %s is too large", frameSize);
        }
        return (int) bytes;
    }
}
