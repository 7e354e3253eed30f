package io.tmount.image;

import io.tmount.TmountException;
import io.tmount.compress.FrameCodec;
import io.tmount.compress.FrameTable;
import io.tmount.header.BuildData;
import io.tmount.header.Header;
import io.tmount.header.HeaderCodec;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Re-reads every build of a chain from the store (never from a cache) and checks it against what the headers say:
 * the layout (each header parses, every mapped byte is in a data object or a frame), each data object's size, each
 * frame's decoding to its recorded size, and the SHA-256 of each build's uncompressed data where a header records
 * one (e2b's {@code inspect-build validate}).
 */
public final class BuildVerifier {

    private static final int READ = 8 << 20;

    /** What was checked of one build of the chain, and what is wrong with it (nothing: intact). */
    public record LayerCheck(BuildId build, String object, String compression, long storedBytes,
                             long uncompressedBytes, int frames, String expectedSha256, String actualSha256,
                             long digestBlocks, List<String> problems) {

        public boolean intact() {
            return problems.isEmpty();
        }
    }

    private final TemplateStore store;

    public BuildVerifier(TemplateStore store) {
        this.store = store;
    }

    /** Checks the chain; a layout that cannot be read at all is one problem of the build itself. */
    public List<LayerCheck> verify(BuildId build) {
        BuildLayout layout;
        try {
            layout = BuildLayout.read(store, build);
        } catch (TmountException e) {
            return List.of(new LayerCheck(build, null, null, 0, 0, 0, null, null, 0, List.of(e.getMessage())));
        }
        List<LayerCheck> checks = new ArrayList<>();
        layout.layers().values().stream().sorted(Comparator.comparing(l -> l.folder().value()))
                .forEach(layer -> checks.add(check(layer)));
        return checks;
    }

    private LayerCheck check(LayerData layer) {
        List<String> problems = new ArrayList<>();
        BuildData self = ownRecord(layer.folder(), problems);
        String expected = layer.sha256() != null ? layer.sha256() : self == null ? null : self.sha256();
        if (self != null && layer.sha256() != null && self.sha256() != null && !self.sha256().equals(layer.sha256())) {
            problems.add("its own header records SHA-256 " + self.sha256() + ", a descendant's " + layer.sha256());
        }
        String actual;
        FrameTable frames = layer.frames();
        DigestRun digests = digests(layer, problems);
        try {
            if (layer.compressed()) {
                if (self != null && self.compressed()) {
                    frames = self.frames(); // the whole table: a descendant's may be trimmed
                }
                actual = framed(layer, frames, digests, problems);
            } else {
                actual = plain(layer, digests, problems);
            }
        } catch (IOException e) {
            problems.add("cannot read " + layer.key() + ": " + e.getMessage());
            actual = null;
        }
        if (expected != null && actual != null && !expected.equals(actual)) {
            problems.add("SHA-256 mismatch: the header records " + expected + ", the data is " + actual);
        }
        long digestBlocks = 0;
        if (digests != null && digests.fed) {
            digestBlocks = (layer.size() + digests.blockSize() - 1) / digests.blockSize();
            if (digests.check().mismatches() > 0) {
                problems.add(digests.check().mismatches() + " of " + digestBlocks + " blocks do not match tmount's "
                        + "digest list (" + TemplateStore.DIGESTS + "), the first at offset "
                        + digests.check().firstMismatch());
            }
        }
        return new LayerCheck(layer.folder(), layer.key(), layer.compression().label(), layer.object().size(),
                layer.size(), frames.count(), expected, actual, digestBlocks, problems);
    }

    /** tmount's per-block digests of the build, where it stored some: checked as the data is read. */
    private DigestRun digests(LayerData layer, List<String> problems) {
        try {
            Optional<byte[]> stored = store.digests(layer.folder());
            if (stored.isEmpty()) {
                if (store.metadata(layer.folder()).map(m -> m.digestBlockSize()).isPresent()) {
                    problems.add("its metadata says it was stored with a digest list, but "
                            + TemplateStore.digestsKey(layer.folder()) + " is missing");
                }
                return null;
            }
            ChunkDigests list = ChunkDigests.parse(stored.get());
            if (list.dataSize() != layer.size()) {
                problems.add("the digest list covers " + list.dataSize() + " bytes, the data has " + layer.size());
                return null;
            }
            return new DigestRun(list.blockSize(), list.sequential());
        } catch (IOException | TmountException e) {
            problems.add("the digest list " + TemplateStore.digestsKey(layer.folder()) + " is damaged: "
                    + e.getMessage());
            return null;
        }
    }

    /** A digest list being checked as the data streams by; unused when the data could not be read in order. */
    private static final class DigestRun {
        private final int blockSize;
        private final ChunkDigests.Sequential check;
        private boolean fed;

        DigestRun(int blockSize, ChunkDigests.Sequential check) {
            this.blockSize = blockSize;
            this.check = check;
        }

        int blockSize() {
            return blockSize;
        }

        ChunkDigests.Sequential check() {
            return check;
        }

        void update(ByteBuffer bytes) {
            fed = true;
            check.update(bytes);
        }
    }

    /** The build's own header's record of itself, when it has one. */
    private BuildData ownRecord(BuildId folder, List<String> problems) {
        try {
            Optional<Header> own = store.headerBytes(folder, HeaderCodec.MAX_HEADER_BYTES)
                    .map(b -> HeaderCodec.read(b, "the header of build " + folder));
            return own.map(h -> h.build(h.buildId())).orElse(null);
        } catch (TmountException e) {
            problems.add(e.getMessage());
            return null;
        }
    }

    private String plain(LayerData layer, DigestRun digests, List<String> problems) throws IOException {
        long size = layer.object().size();
        if (layer.size() != size) {
            problems.add("a header records " + layer.size() + " bytes, but " + layer.key() + " has " + size);
        }
        MessageDigest sha = sha256();
        ByteBuffer buffer = ByteBuffer.allocateDirect(READ);
        for (long position = 0; position < size; ) {
            buffer.clear().limit((int) Math.min(READ, size - position));
            store.objects().readFully(layer.key(), position, buffer);
            buffer.flip();
            position += buffer.remaining();
            if (digests != null) {
                digests.update(buffer);
            }
            sha.update(buffer);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Decodes every frame in order; the hash is only known when the table covers the data from 0 without a gap. */
    private String framed(LayerData layer, FrameTable frames, DigestRun digests, List<String> problems)
            throws IOException {
        boolean whole = frames.count() > 0 && frames.startU(0) == 0 && frames.covers(0, frames.endU())
                && frames.endU() == layer.size();
        if (!whole) {
            problems.add("the frame table known for " + layer.key() + " does not cover its " + layer.size()
                    + " bytes from 0 without a gap (the build's own header is missing or trimmed): its SHA-256 "
                    + "cannot be checked");
        }
        if (frames.endC() > layer.object().size()) {
            problems.add(layer.key() + " has " + layer.object().size() + " bytes, its frame table needs "
                    + frames.endC() + " (a short object)");
            return null;
        }
        try (FrameCodec codec = FrameCodec.of(frames.compression(), 0)) {
            return decodeAll(layer, frames, codec, whole, whole ? digests : null, problems);
        }
    }

    private String decodeAll(LayerData layer, FrameTable frames, FrameCodec codec, boolean hashable,
                             DigestRun digests, List<String> problems) throws IOException {
        MessageDigest sha = sha256();
        ByteBuffer out = ByteBuffer.allocateDirect(maxSize(frames, true));
        ByteBuffer run = ByteBuffer.allocateDirect(Math.max(READ, maxSize(frames, false)));
        for (int first = 0; first < frames.count(); ) {
            int last = first;
            while (last + 1 < frames.count() && frames.startC(last + 1) == frames.endC(last)
                    && frames.endC(last + 1) - frames.startC(first) <= READ) {
                last++;
            }
            ByteBuffer compressed = run.clear().limit((int) (frames.endC(last) - frames.startC(first))).slice();
            store.objects().readFully(layer.key(), frames.startC(first), compressed);
            for (int f = first; f <= last; f++) {
                ByteBuffer src = compressed.duplicate();
                src.limit((int) (frames.endC(f) - frames.startC(first))).position((int) (frames.startC(f) - frames.startC(first)));
                out.clear();
                try {
                    codec.decode(src, out, frames.sizeU(f));
                    out.flip();
                    if (digests != null && hashable) { // after a damaged frame the blocks no longer line up
                        digests.update(out);
                    }
                    sha.update(out);
                } catch (IOException e) {
                    problems.add("frame " + f + " (uncompressed offset " + frames.startU(f) + ", stored at "
                            + frames.startC(f) + ") is damaged: " + e.getMessage());
                    hashable = false;
                }
            }
            first = last + 1;
        }
        return hashable ? HexFormat.of().formatHex(sha.digest()) : null;
    }

    private static int maxSize(FrameTable frames, boolean uncompressed) {
        int max = 4096;
        for (int i = 0; i < frames.count(); i++) {
            max = Math.max(max, uncompressed ? frames.sizeU(i) : frames.sizeC(i));
        }
        return max;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
