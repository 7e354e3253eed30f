package io.tmount.mount;

import io.tmount.ByteSize;
import io.tmount.compress.Compression;
import io.tmount.device.Attachers;
import io.tmount.image.BuildImages;
import io.tmount.image.BuildLayout;
import io.tmount.image.BuildReport;
import io.tmount.image.BuildVerifier;
import io.tmount.image.BuildWriter;
import io.tmount.image.LayerDiff;
import io.tmount.image.Overlay;
import io.tmount.image.WriteFormat;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real mounts of every kind of build e2b writes today, made with tmount's own writer: a three-level chain for each
 * header version and compression, a mixed chain and a header-only layer; each mounted read-only and writable with
 * every file compared to its source, committed on top, and the result read back and verified.
 */
@ExtendWith(NoLeftovers.class)
class CompressedMountTest {

    private static final TemplateId TEMPLATE = TemplateId.of("base");

    @TempDir
    Path dir;

    private TemplateStore store;
    private MountManager manager;
    private Path expected;

    @BeforeEach
    void setUp() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        expected = Trees.sample(dir.resolve("expected"), 5);
        manager = MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)).withCache(256 * 1024, 1L << 30));
    }

    @AfterEach
    void tearDown() throws IOException {
        manager.close();
        store.close();
    }

    private static WriteFormat format(Compression compression, Integer version) {
        return new WriteFormat(compression, 0, 64 * 1024, version);
    }

    /** name, how the base is written, how layers are written, the header version layers must end up with. */
    static Stream<Arguments> chains() {
        return Stream.of(
                Arguments.of("v3 none", format(Compression.NONE, null), format(Compression.NONE, null), 3),
                Arguments.of("v3 layers over a zstd base", format(Compression.ZSTD, null), format(Compression.NONE, 3), 3),
                Arguments.of("v3 layers over an lz4 base", format(Compression.LZ4, null), format(Compression.NONE, 3), 3),
                Arguments.of("v4 none", format(Compression.NONE, 4), format(Compression.NONE, null), 4),
                Arguments.of("v4 zstd", format(Compression.ZSTD, 4), format(Compression.ZSTD, null), 4),
                Arguments.of("v4 lz4", format(Compression.LZ4, 4), format(Compression.LZ4, null), 4),
                Arguments.of("v5 none", format(Compression.NONE, 5), format(Compression.NONE, null), 5),
                Arguments.of("v5 zstd", format(Compression.ZSTD, 5), format(Compression.ZSTD, null), 5),
                Arguments.of("v5 lz4", format(Compression.LZ4, 5), format(Compression.LZ4, null), 5),
                Arguments.of("mixed: v4 zstd layers over a v3 base", format(Compression.NONE, null),
                        format(Compression.ZSTD, null), 4));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chains")
    void aThreeLevelChain_mountsReadOnlyAndWritable_commitsOnTop_andVerifies(String name, WriteFormat baseFormat,
                                                                           WriteFormat layerFormat, int version)
            throws IOException {
        BuildId base = new TemplateCatalog(store, dir.resolve("scratch"))
                .create(TEMPLATE, null, expected, ByteSize.parse("64M"), baseFormat);
        BuildId first = commitOver(base, 1, layerFormat);
        BuildId second = commitOver(first, 2, layerFormat);

        assertThat(readOnlyChecksums(second)).isEqualTo(Trees.checksums(expected));
        BuildId third = commitOver(second, 3, layerFormat); // the writable mount is compared before it changes
        assertThat(readOnlyChecksums(third)).isEqualTo(Trees.checksums(expected));

        BuildReport report = BuildReport.of(store, third);
        assertThat(report.headerVersion()).isEqualTo(version);
        assertThat(report.generation()).isEqualTo(3);
        assertThat(report.layers()).filteredOn(l -> third.equals(l.build())).singleElement()
                .satisfies(l -> assertThat(l.compression()).isEqualTo(layerFormat.compression().label()));
        assertThat(report.layers()).filteredOn(l -> base.equals(l.build())).singleElement()
                .satisfies(l -> assertThat(l.compression()).isEqualTo(baseFormat.compression().label()));
        assertThat(new BuildVerifier(store).verify(third)).allSatisfy(check ->
                assertThat(check.problems()).as("%s", check.build()).isEmpty());
    }

    @Test
    void aHeaderOnlyLayer_mountsAndTakesACommitOnTop() throws IOException {
        BuildId base = new TemplateCatalog(store, dir.resolve("scratch"))
                .create(TEMPLATE, null, expected, ByteSize.parse("64M"), format(Compression.ZSTD, null));
        BuildId empty = BuildId.random();
        // a layer that only zeroes free space, as e2b makes one when a layer changed no block: no data object
        BuildImages images = manager.images();
        BuildLayout layout = images.layout(base);
        Path packed = dir.resolve("packed");
        try (Overlay overlay = Overlay.open(images.open(layout), dir.resolve("overlay"))) {
            overlay.writeZeroes(63L << 20, 1L << 20, false);
            LayerDiff.Result diff;
            try (FileChannel out = FileChannel.open(packed, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                diff = LayerDiff.write(overlay, layout.header().mappings(), empty.uuid(), out);
            }
            assertThat(diff.ownBytes()).isZero();
            new BuildWriter(store, dir.resolve("scratch")).writeLayer(layout, BuildMetadata.forNewBuild(empty, TEMPLATE,
                    base, layout.header().size(), Instant.now()), diff, packed, WriteFormat.DEFAULT);
        }
        for (Compression c : Compression.values()) {
            assertThat(dir.resolve("store").resolve(TemplateStore.dataKey(empty, c))).doesNotExist();
        }
        assertThat(readOnlyChecksums(empty)).isEqualTo(Trees.checksums(expected));
        BuildId top = commitOver(empty, 1, WriteFormat.DEFAULT);
        assertThat(readOnlyChecksums(top)).isEqualTo(Trees.checksums(expected));
        assertThat(BuildReport.of(store, top).headerVersion()).isEqualTo(4); // inherited through the empty layer
    }

    /** Mounts {@code build} writable, checks it, makes change {@code round} there and in the expected tree, commits. */
    private BuildId commitOver(BuildId build, int round, WriteFormat format) throws IOException {
        Path mnt = dir.resolve("rw");
        manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());
        try {
            assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(expected));
            for (Path root : new Path[]{mnt, expected}) {
                Files.writeString(root.resolve("etc/hostname"), "round " + round + "\n");
                byte[] data = new byte[200_000 + round];
                new Random(round).nextBytes(data);
                Files.write(root.resolve("round-" + round + ".bin"), data);
                Files.deleteIfExists(root.resolve("var/data/blob-" + round + ".bin"));
            }
            return manager.commit(mnt, null, null, false, format).build();
        } finally {
            manager.unmountTemplate(mnt);
        }
    }

    private java.util.Map<String, String> readOnlyChecksums(BuildId build) {
        Path mnt = dir.resolve("ro");
        manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true).withVerify(true));
        try {
            return Trees.checksums(mnt);
        } finally {
            manager.unmountTemplate(mnt);
        }
    }
}
