package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.Ext4Images;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.NoLeftovers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Integrity on every read: tmount stores a per-block SHA-256 list beside every build it writes, and chunks are checked
 * against it as they come from the store (a damaged object is an I/O error, never cached) and, for chunks an earlier
 * run left in the cache, on their first read (bit rot on the cache's disk is fetched again).
 */
@ExtendWith(NoLeftovers.class)
class IntegrityTest {

    private static final TemplateId TEMPLATE = TemplateId.of("t");

    @TempDir
    Path dir;

    private byte[] content;

    private MountManager open(TemplateStore store) {
        return MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(2), Duration.ofMillis(500)));
    }

    /** Copying the local store's chunks into the chunk cache, as a remote store's are. */
    private MountManager openCopying(TemplateStore store) {
        return MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(2), Duration.ofMillis(500))
                .withFetch(io.tmount.image.FetchPolicy.DEFAULT.withCopyLocalStore(true)));
    }

    private BuildId importBuild(TemplateStore store) throws IOException {
        Path source = dir.resolve("src");
        Files.createDirectories(source);
        content = new byte[3 << 20];
        new Random(42).nextBytes(content);
        Files.write(source.resolve("payload.bin"), content);
        Files.writeString(source.resolve("small.txt"), "still readable\n");
        Path image = dir.resolve("image.ext4");
        Ext4Images.makeFromDirectory(source, 32L << 20, image);
        return new TemplateCatalog(store, dir.resolve("scratch")).importImage(TEMPLATE, null, image);
    }

    /** Flips one byte of {@code file} in the middle of where the payload's bytes are. */
    private long flipInPayload(Path file, long from) throws IOException {
        byte[] needle = java.util.Arrays.copyOfRange(content, 1 << 20, (1 << 20) + 64);
        byte[] bytes = Files.readAllBytes(file);
        for (long i = from; i + needle.length <= bytes.length; i += 512) {
            if (java.util.Arrays.equals(bytes, (int) i, (int) i + needle.length, needle, 0, needle.length)) {
                flip(file, i + 10);
                return i + 10;
            }
        }
        throw new AssertionError("payload not found in " + file);
    }

    private static void flip(Path file, long offset) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x40);
        }
    }

    @Test
    void aBlockDamagedInTheStore_isAnIoErrorForItsReader_andIsNeverCached() throws Exception {
        Path storeDir = dir.resolve("store");
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open());
             MountManager manager = open(store)) {
            BuildId build = importBuild(store);
            assertThat(storeDir.resolve(build.value()).resolve(TemplateStore.DIGESTS)).exists();
            Path object = storeDir.resolve(build.value()).resolve("rootfs.ext4");
            var verifier = new io.tmount.image.BuildVerifier(store);
            assertThat(verifier.verify(build)).singleElement().satisfies(check -> {
                assertThat(check.intact()).isTrue();
                assertThat(check.digestBlocks()).isEqualTo((32L << 20) / io.tmount.image.ChunkDigests.DEFAULT_BLOCK_SIZE);
            });
            long flipped = flipInPayload(object, 0);
            // tmount verify finds it too, though a version 3 header records no SHA-256 at all
            assertThat(verifier.verify(build)).singleElement().satisfies(check -> assertThat(check.problems())
                    .singleElement().asString().startsWith("1 of 512 blocks do not match tmount's digest list"));

            Path mnt = dir.resolve("mnt");
            manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
            try {
                assertThat(Files.readString(mnt.resolve("small.txt"))).isEqualTo("still readable\n");
                assertThatThrownBy(() -> Files.readAllBytes(mnt.resolve("payload.bin"))).isInstanceOf(IOException.class);
                // the damage was never cached: once the store is right again, the same mount reads it exactly
                flip(object, flipped);
                assertThat(Files.readAllBytes(mnt.resolve("payload.bin"))).isEqualTo(content);
            } finally {
                manager.unmountTemplate(mnt);
            }
        }
    }

    @Test
    void aCompressedCommit_storesDigestsOfItsUncompressedBytes_andReadsBackThroughTheCheck() throws Exception {
        Path storeDir = dir.resolve("store");
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open());
             MountManager manager = open(store)) {
            BuildId build = importBuild(store);
            Path mnt = dir.resolve("mnt");
            manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());
            byte[] written = new byte[2 << 20];
            new Random(7).nextBytes(written);
            Files.write(mnt.resolve("layer.bin"), written);
            BuildId layer = BuildId.of(java.util.UUID.randomUUID().toString());
            manager.commit(mnt, layer, TEMPLATE, false, io.tmount.image.WriteFormat.DEFAULT
                    .withCompression(io.tmount.compress.Compression.ZSTD));
            manager.unmountTemplate(mnt);
            byte[] digests = Files.readAllBytes(storeDir.resolve(layer.value()).resolve(TemplateStore.DIGESTS));
            io.tmount.image.ChunkDigests list = io.tmount.image.ChunkDigests.parse(digests);
            assertThat(list.dataSize()).isGreaterThanOrEqualTo(written.length); // the layer's own blocks, uncompressed
            assertThat(list.fits(2 << 20)).isTrue(); // e2b's frame size: a frame per chunk is checked alone
            Path check = dir.resolve("check");
            manager.mountTemplate(TEMPLATE, layer, check, MountOptions.defaults().withReadOnly(true));
            try {
                assertThat(Files.readAllBytes(check.resolve("layer.bin"))).isEqualTo(written);
                assertThat(Files.readAllBytes(check.resolve("payload.bin"))).isEqualTo(content);
            } finally {
                manager.unmountTemplate(check);
            }
        }
    }

    @Test
    void aLostDigestList_isReportedByVerify_whileTheBuildStillMountsAsE2bWouldReadIt() throws Exception {
        Path storeDir = dir.resolve("store");
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open());
             MountManager manager = open(store)) {
            BuildId build = importBuild(store);
            assertThat(store.metadata(build).orElseThrow().digestBlockSize())
                    .isEqualTo(io.tmount.image.ChunkDigests.DEFAULT_BLOCK_SIZE);
            Files.delete(storeDir.resolve(build.value()).resolve(TemplateStore.DIGESTS));
            Path mnt = dir.resolve("mnt");
            manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
            assertThat(Files.readAllBytes(mnt.resolve("payload.bin"))).isEqualTo(content);
            manager.unmountTemplate(mnt);
            assertThat(new io.tmount.image.BuildVerifier(store).verify(build)).singleElement()
                    .satisfies(check -> assertThat(check.problems()).anyMatch(p -> p.contains("is missing")));
        }
    }

    @Test
    void aChunkThatRottedInTheCache_isFetchedAgainOnItsFirstRead() throws Exception {
        Path storeDir = dir.resolve("store");
        BuildId build;
        Path mnt = dir.resolve("mnt");
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open())) {
            build = importBuild(store);
            try (MountManager manager = openCopying(store)) {
                manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
                assertThat(Files.readAllBytes(mnt.resolve("payload.bin"))).isEqualTo(content);
                manager.unmountTemplate(mnt);
            } // closing saves the cache's index: the next run inherits its chunks
            Path cacheData = dir.resolve("state/cache").resolve(build.value()).resolve("data");
            flipInPayload(cacheData, 0);
            try (MountManager manager = openCopying(store)) {
                manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
                try {
                    assertThat(Files.readAllBytes(mnt.resolve("payload.bin"))).isEqualTo(content);
                } finally {
                    manager.unmountTemplate(mnt);
                }
            }
            // and the cache file holds the right bytes again
            byte[] needle = java.util.Arrays.copyOfRange(content, 1 << 20, (1 << 20) + 64);
            byte[] cached = Files.readAllBytes(cacheData);
            boolean found = false;
            for (int i = 0; i + 64 <= cached.length && !found; i += 512) {
                found = java.util.Arrays.equals(cached, i, i + 64, needle, 0, 64);
            }
            assertThat(found).isTrue();
        }
    }
}
