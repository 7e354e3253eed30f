package io.tmount.image;

import io.tmount.TmountException;
import io.tmount.compress.Compression;
import io.tmount.compress.FrameCodec;
import io.tmount.compress.FrameTable;
import io.tmount.compress.FramedWriter;
import io.tmount.header.BuildData;
import io.tmount.header.BuildMapping;
import io.tmount.header.Header;
import io.tmount.progress.CountingFileChannel;
import io.tmount.progress.ProgressCounter;
import io.tmount.header.HeaderCodec;
import io.tmount.store.BuildMetadata;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Writes new builds as e2b's current code writes them, so e2b reads them back: a header of the version e2b would
 * choose (see {@link WriteFormat}), every mapping whole 4 KiB pages, generation counted from 0 at the base, and from
 * version 4 on a Builds section with each build's size, SHA-256 and frame table; the data object stored plain or in
 * frames, and left out when a layer has no blocks of its own.
 */
public final class BuildWriter {

    private static final long PAGE = BuildLayout.BLOCK_SIZE;

    /** What was stored. */
    public record Written(int headerVersion, Compression compression, long uncompressedBytes, long storedBytes,
                          String sha256, int frames) {
    }

    private final TemplateStore store;
    private final Path scratch;
    private final ProgressCounter progress;

    /** {@code scratch}: where compressed data objects are made before they are stored. */
    public BuildWriter(TemplateStore store, Path scratch) {
        this(store, scratch, ProgressCounter.none());
    }

    /** The same, counting the bytes each pass over the data reads, and the data once stored, into {@code progress}. */
    public BuildWriter(TemplateStore store, Path scratch, ProgressCounter progress) {
        this.store = store;
        this.scratch = scratch;
        this.progress = progress;
    }

    /**
     * A base build: the whole image as one layer (generation 0, mapped onto itself). An image whose size is not a
     * multiple of 4 KiB is padded with zeros (ext4 never uses a partial block).
     */
    public Written writeBase(BuildMetadata metadata, Path image, WriteFormat format) throws IOException {
        long size = Files.size(image);
        if (size == 0) {
            throw TmountException.invalid("image %s is empty", image);
        }
        long padded = (size + PAGE - 1) / PAGE * PAGE;
        Path source = image;
        Path copy = null;
        try {
            if (padded != size) {
                Files.createDirectories(scratch);
                copy = Files.createTempFile(scratch, "padded-", ".ext4");
                io.tmount.os.SparseCopy.copy(image, copy);
                try (RandomAccessFile file = new RandomAccessFile(copy.toFile(), "rw")) {
                    file.setLength(padded);
                }
                source = copy;
            }
            UUID self = metadata.buildId().uuid();
            int version = format.versionFor(null);
            List<BuildMapping> mappings = List.of(new BuildMapping(0, padded, self, 0));
            return store(metadata, version, 0, self, self, padded, mappings, Map.of(), source, padded, format);
        } finally {
            if (copy != null) {
                Files.deleteIfExists(copy);
            }
        }
    }

    /**
     * A layer over {@code parent}: the mappings {@link LayerDiff} made, with the layer's own blocks packed in
     * {@code packed} ({@code diff.ownBytes()} of them; none: a header-only layer, as e2b stores one).
     */
    public Written writeLayer(BuildLayout parent, BuildMetadata metadata, LayerDiff.Result diff, Path packed,
                              WriteFormat format) throws IOException {
        Header below = parent.header();
        UUID self = metadata.buildId().uuid();
        int version = format.versionFor(below);
        Map<UUID, BuildData> ancestors = new HashMap<>();
        if (version >= 4) {
            for (BuildMapping m : diff.mappings()) {
                LayerData layer = m.zeros() || m.buildId().equals(self) ? null : parent.layers().get(m.buildId());
                if (layer != null) { // absent only past the device's end, where e2b finds it by its own header
                    ancestors.putIfAbsent(m.buildId(), new BuildData(layer.size(), layer.sha256(), layer.frames()));
                }
            }
        }
        return store(metadata, version, below.generation() + 1, self, below.baseBuildId(), below.size(),
                diff.mappings(), ancestors, diff.ownBytes() > 0 ? packed : null, diff.ownBytes(), format);
    }

    private Written store(BuildMetadata metadata, int version, long generation, UUID self, UUID base, long size,
                          List<BuildMapping> mappings, Map<UUID, BuildData> ancestors, Path data, long dataBytes,
                          WriteFormat format) throws IOException {
        Path framed = null;
        try {
            TemplateStore.StoredData stored = null;
            BuildData own = BuildData.UNKNOWN;
            if (data != null) {
                byte[] digests = digests(data, dataBytes); // of the uncompressed bytes: what a chunk cache holds
                if (format.compression() == Compression.NONE) {
                    String sha = version >= 4 ? sha256(data, dataBytes) : null;
                    stored = new TemplateStore.StoredData(data, Compression.NONE, dataBytes, digests);
                    own = new BuildData(dataBytes, sha, FrameTable.NONE);
                } else {
                    Files.createDirectories(scratch);
                    framed = Files.createTempFile(scratch, "framed-", format.compression().suffix());
                    FramedWriter.Result result = frame(data, dataBytes, framed, format);
                    stored = new TemplateStore.StoredData(framed, format.compression(), dataBytes, digests);
                    own = new BuildData(dataBytes, result.sha256(), result.table());
                }
            }
            Map<UUID, BuildData> builds = new HashMap<>(ancestors);
            if (version >= 4) {
                builds.put(self, own); // e2b always records the build itself, a zero entry when it has no data
            }
            Header header = new Header(version, BuildLayout.BLOCK_SIZE, size, generation, self, base, mappings,
                    version >= 4 ? builds : Map.of());
            // the metadata says a digest list was stored, so that losing it is noticed
            store.publishBuild(stored == null ? metadata : metadata.withDigests(ChunkDigests.DEFAULT_BLOCK_SIZE),
                    HeaderCodec.write(header), stored);
            progress.add(dataBytes); // stored: a pass of its own, whose own progress the store does not report
            long storedBytes = stored == null ? 0 : Files.size(stored.file());
            return new Written(version, stored == null ? Compression.NONE : stored.compression(), dataBytes, storedBytes,
                    own.sha256(), own.frames().count());
        } finally {
            if (framed != null) {
                Files.deleteIfExists(framed);
            }
        }
    }

    /**
     * How many times storing a base build in {@code format} reads its image: the block digests, then the SHA-256
     * (version 4 and 5, uncompressed) or the compression, then the upload. For progress displays.
     */
    public static int readPasses(WriteFormat format) {
        return readPasses(format, null);
    }

    /** The same for a layer over a build with header {@code below}. */
    public static int readPasses(WriteFormat format, Header below) {
        boolean second = format.compression() != Compression.NONE || format.versionFor(below) >= 4;
        return second ? 3 : 2;
    }

    private FramedWriter.Result frame(Path data, long length, Path out, WriteFormat format) throws IOException {
        try (FileChannel in = CountingFileChannel.of(FileChannel.open(data), progress);
             FileChannel target = FileChannel.open(out, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
             FrameCodec codec = FrameCodec.of(format.compression(), format.level())) {
            return new FramedWriter(codec, format.frameSize()).write(in, length, target);
        }
    }

    private byte[] digests(Path data, long length) throws IOException {
        try (FileChannel in = CountingFileChannel.of(FileChannel.open(data), progress)) {
            return ChunkDigests.of(in, length, ChunkDigests.DEFAULT_BLOCK_SIZE).serialize();
        }
    }

    private String sha256(Path data, long length) throws IOException {
        try (FileChannel in = CountingFileChannel.of(FileChannel.open(data), progress)) {
            return FramedWriter.sha256(in, length);
        }
    }
}
