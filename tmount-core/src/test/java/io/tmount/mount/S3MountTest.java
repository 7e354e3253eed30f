package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.image.BuildReport;
import io.tmount.image.CacheStats;
import io.tmount.store.BuildId;
import io.tmount.store.S3Settings;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.Ext4Images;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.FaultProxy;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.S3ProxyServer;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Templates in an S3 bucket (a real S3 server, S3Proxy): import, mount, commit, chains, and the faults of a network. */
@ExtendWith(NoLeftovers.class)
class S3MountTest {

    private static final TemplateId TEMPLATE = TemplateId.of("base");
    private static final int CHUNK = 1 << 20;

    @TempDir
    static Path serverDir;

    static S3ProxyServer server;
    private static final AtomicInteger buckets = new AtomicInteger();

    @TempDir
    Path dir;

    private TemplateStore store;
    private MountManager manager;
    private Path source;
    private byte[] big;

    @BeforeAll
    static void startServer() throws IOException {
        server = S3ProxyServer.start(serverDir);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @AfterEach
    void tearDown() throws IOException {
        if (manager != null) {
            manager.close();
        }
        if (store != null) {
            store.close();
        }
    }

    /** A bucket with one imported template holding the sample tree and a 12 MiB file. */
    private BuildId importTemplate(S3Settings settings) throws IOException {
        return importTemplate(settings, io.tmount.image.WriteFormat.DEFAULT);
    }

    private BuildId importTemplate(S3Settings settings, io.tmount.image.WriteFormat format) throws IOException {
        return importTemplate(settings, format, io.tmount.image.FetchPolicy.DEFAULT);
    }

    private BuildId importTemplate(S3Settings settings, io.tmount.image.WriteFormat format,
                                   io.tmount.image.FetchPolicy fetch) throws IOException {
        store = new TemplateStore(new StoreLocation.S3(settings).open());
        source = Trees.sample(dir.resolve("src"), 1);
        big = new byte[12 << 20];
        new Random(5).nextBytes(big);
        Files.write(source.resolve("big.bin"), big);
        Path image = dir.resolve("image.ext4");
        Ext4Images.makeFromDirectory(source, 96L << 20, image);
        BuildId build = new TemplateCatalog(store, dir.resolve("scratch")).importImage(TEMPLATE, null, image, format);
        manager = MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)).withCache(CHUNK, 1L << 30).withFetch(fetch));
        return build;
    }

    private String newBucket() throws IOException {
        return server.createBucket("mounts-" + buckets.incrementAndGet());
    }

    @Test
    void importMountReadCommit_andALayeredChainAcrossBuildObjects() throws IOException {
        BuildId base = importTemplate(server.settings(newBucket()));
        Path mnt = dir.resolve("mnt");
        manager.mountTemplate(TEMPLATE, base, mnt, MountOptions.defaults());
        assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source));
        Files.writeString(mnt.resolve("etc/hostname"), "layer one\n");
        BuildId first = manager.commit(mnt, null).build();
        manager.unmountTemplate(mnt);

        manager.mountTemplate(TEMPLATE, first, mnt, MountOptions.defaults());
        assertThat(mnt.resolve("etc/hostname")).hasContent("layer one");
        Files.writeString(mnt.resolve("etc/app/app.conf"), "layer two\n");
        BuildId second = manager.commit(mnt, BuildId.of("second")).build();
        manager.unmountTemplate(mnt);

        manager.mountTemplate(TEMPLATE, second, mnt, MountOptions.defaults().withReadOnly(true));
        try {
            assertThat(mnt.resolve("etc/hostname")).hasContent("layer one");
            assertThat(mnt.resolve("etc/app/app.conf")).hasContent("layer two");
            assertThat(Files.readAllBytes(mnt.resolve("big.bin"))).isEqualTo(big);
        } finally {
            manager.unmountTemplate(mnt);
        }
        assertThat(BuildReport.of(store, second).layers()).extracting(BuildReport.Layer::build)
                .contains(base, first, second);
        assertThat(store.list()).extracting(b -> b.buildId().value()).contains(base.value(), first.value(), "second");
        long fetched = manager.cacheReport().objects().stream().mapToLong(CacheStats::fetchedBytes).sum();
        assertThat(fetched).isLessThan(96L << 20); // lazily: not the images
    }

    @Test
    void compressedBuilds_inABucket_streamFrameByFrame_andCommitCompressed() throws IOException {
        BuildId base = importTemplate(server.settings(newBucket()),
                new io.tmount.image.WriteFormat(io.tmount.compress.Compression.ZSTD, 0, 0, null));
        Path mnt = dir.resolve("mnt");
        manager.mountTemplate(TEMPLATE, base, mnt, MountOptions.defaults().withVerify(true));
        assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source));
        Files.writeString(mnt.resolve("etc/hostname"), "compressed layer\n");
        BuildId layer = manager.commit(mnt, null, null, false,
                new io.tmount.image.WriteFormat(io.tmount.compress.Compression.LZ4, 0, 0, null)).build();
        manager.unmountTemplate(mnt);
        manager.mountTemplate(TEMPLATE, layer, mnt, MountOptions.defaults().withReadOnly(true));
        try {
            assertThat(mnt.resolve("etc/hostname")).hasContent("compressed layer");
            assertThat(Files.readAllBytes(mnt.resolve("big.bin"))).isEqualTo(big);
        } finally {
            manager.unmountTemplate(mnt);
        }
        assertThat(store.info(base + "/rootfs.ext4.zstd")).isPresent();
        assertThat(store.info(layer + "/rootfs.ext4.lz4")).isPresent();
        assertThat(store.info(base + "/rootfs.ext4.zstd.uncompressed-size")).isEmpty(); // a local-store sidecar only
        assertThat(new io.tmount.image.BuildVerifier(store).verify(layer)).allSatisfy(c -> assertThat(c.problems()).isEmpty());
    }

    @Test
    void theServerStoppingMidRead_failsReadsWithEio_thenTheyWorkAgain_andTheMountSurvives() throws IOException {
        BuildId build = importTemplate(server.settings(newBucket()));
        Path mnt = dir.resolve("mnt");
        manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
        Path file = mnt.resolve("big.bin");
        assertThat(Files.size(file)).isEqualTo(big.length); // its inode is read while the server is up
        server.stop();
        try {
            long start = System.nanoTime();
            assertThatThrownBy(() -> readTail(file)).isInstanceOf(IOException.class)
                    .hasMessageContaining("Input/output error");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
            assertThat(manager.listMounts()).hasSize(1);
        } finally {
            server.start();
        }
        assertThat(readTail(file)).isEqualTo(Arrays.copyOfRange(big, big.length - (4 << 20), big.length));
        assertThat(Files.readAllBytes(file)).isEqualTo(big);
        manager.unmountTemplate(mnt);
    }

    @Test
    void slowResponses_slowReadsDown_andTooSlowOnesFailWithinTheTimeout() throws IOException {
        String bucket = newBucket();
        try (FaultProxy proxy = new FaultProxy(server.port(), Duration.ofMillis(100))) {
            BuildId build = importTemplate(server.settings(bucket, proxy.endpoint()));
            Path mnt = dir.resolve("mnt");
            manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
            assertThat(mnt.resolve("etc/hostname")).hasContent("template-1"); // slow, but it works
            assertThat(Files.size(mnt.resolve("big.bin"))).isEqualTo(big.length);
            proxy.delay(Duration.ofSeconds(8)); // past the 3 s per-attempt timeout
            long start = System.nanoTime();
            assertThatThrownBy(() -> readTail(mnt.resolve("big.bin"))).isInstanceOf(IOException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(40));
            proxy.delay(Duration.ZERO);
            assertThat(Files.readAllBytes(mnt.resolve("big.bin"))).isEqualTo(big);
            manager.unmountTemplate(mnt);
        }
    }

    @Test
    void throttlingAnd5xxBursts_areRetriedAway_aLastingOneIsEio_andNothingLeaks() throws IOException {
        String bucket = newBucket();
        try (FaultProxy proxy = new FaultProxy(server.port(), Duration.ZERO)) {
            // no read-ahead: the lasting failure below must meet chunks the tail's reads did not bring in
            BuildId build = importTemplate(server.settings(bucket, proxy.endpoint()), io.tmount.image.WriteFormat.DEFAULT,
                    io.tmount.image.FetchPolicy.DEFAULT.withReadAhead(0));
            Path mnt = dir.resolve("mnt");
            manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
            Path file = mnt.resolve("big.bin");
            assertThat(Files.size(file)).isEqualTo(big.length);
            int threads = Thread.activeCount();

            proxy.failNext(2, "503 Slow Down"); // fewer than the 3 attempts a request has: retried away
            assertThat(readTail(file)).isEqualTo(Arrays.copyOfRange(big, big.length - (4 << 20), big.length));
            assertThat(proxy.failed()).isEqualTo(2);

            proxy.failNext(1_000, "500 Internal Server Error"); // a store that keeps failing
            long start = System.nanoTime();
            assertThatThrownBy(() -> Files.readAllBytes(file)).isInstanceOf(IOException.class)
                    .hasMessageContaining("Input/output error");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
            assertThat(manager.listMounts()).hasSize(1);

            proxy.failNext(0, "500 Internal Server Error"); // back
            assertThat(Files.readAllBytes(file)).isEqualTo(big);
            assertThat(Thread.activeCount()).as("platform threads").isLessThanOrEqualTo(threads + 4);
            assertThat(proxy.openConnections()).as("connections to the store").isLessThanOrEqualTo(16);
            manager.unmountTemplate(mnt);
        }
    }

    @Test
    void aMissingBuild_namesTheBucket() throws IOException {
        importTemplate(server.settings(newBucket()));
        assertThatThrownBy(() -> manager.mountTemplate(TEMPLATE, BuildId.of("absent"), dir.resolve("m"),
                MountOptions.defaults())).hasMessageContaining("build 'absent' of template 'base' not found in template store s3://");
    }

    private static byte[] readTail(Path file) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            byte[] tail = new byte[4 << 20];
            raf.seek(raf.length() - tail.length);
            raf.readFully(tail);
            return tail;
        }
    }
}
