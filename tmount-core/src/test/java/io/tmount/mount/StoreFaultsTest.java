package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.os.CommandResult;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.Ext4Images;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.FaultProxy;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import io.tmount.testing.S3ProxyServer;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fault table of docs/reliability.md §2, measured: for each lasting store fault (down, stalled, 500s, 503s),
 * through a mount from S3 (S3Proxy behind a fault proxy; 3 s per attempt, 3 attempts): a read of cached data during
 * the fault works, a read of uncached data fails with EIO within the attempts' time, and works once the store is
 * back; the store down for an outage (5 s here, {@code -Dtmount.faults.outageSeconds=60} for the full minute) fails
 * every uncached read in time and no read of cached data; platform threads and store connections stay bounded.
 * Each read is one 4 KiB O_DIRECT read at an offset of its own, so the page cache answers none of them. The table
 * is printed and written to target/store-faults.md.
 */
@ExtendWith(NoLeftovers.class)
class StoreFaultsTest {

    private static final TemplateId TEMPLATE = TemplateId.of("base");
    private static final int MIB = 1 << 20;
    /** 3 attempts of 3 s each, with the SDK's backoff between them, and the kernel's own retry of a failed read. */
    private static final Duration EIO_BOUND = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private record Row(String fault, long cachedMs, long eioMs, long recoveredMs) {
    }

    @Test
    void eachLastingFault_failsUncachedReadsInTime_servesCachedOnes_andRecovers() throws Exception {
        long outage = Long.getLong("tmount.faults.outageSeconds", 5);
        List<Row> rows = new ArrayList<>();
        try (S3ProxyServer server = S3ProxyServer.start(dir.resolve("s3"));
             FaultProxy proxy = new FaultProxy(server.port(), Duration.ZERO)) {
            String bucket = server.createBucket("faults");
            try (TemplateStore store = new TemplateStore(new StoreLocation.S3(server.settings(bucket,
                    proxy.endpoint())).open())) {
                BuildId build = importTemplate(store);
                try (MountManager manager = MountManager.open(new MountManagerConfig(dir.resolve("state"),
                        dir.resolve("run"), store, Attachers.onThisHost(4), Duration.ofMillis(500))
                        .withCache(MIB, 1L << 30))) {
                    Path mnt = dir.resolve("mnt");
                    manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
                    Path file = mnt.resolve("big.bin");
                    // its first MiB is cached from now on (one read: no streak for the read-ahead to follow)
                    Run.ok("dd", "if=" + file, "of=/dev/null", "bs=1M", "count=1", "iflag=direct");
                    int threads = Thread.activeCount();

                    rows.add(measure("store down (connections reset)", file, 3, p -> proxy.down(true),
                            () -> proxy.down(false)));
                    rows.add(measure("stalled responses (8 s > 3 s timeout)", file, 5,
                            p -> proxy.delay(Duration.ofSeconds(8)), () -> proxy.delay(Duration.ZERO)));
                    rows.add(measure("500 Internal Server Error, lasting", file, 7,
                            p -> proxy.failNext(1_000_000, "500 Internal Server Error"),
                            () -> proxy.failNext(0, "500 Internal Server Error")));
                    rows.add(measure("503 Slow Down, lasting", file, 9,
                            p -> proxy.failNext(1_000_000, "503 Slow Down"), () -> proxy.failNext(0, "503 Slow Down")));
                    rows.add(outage(file, proxy, outage));

                    assertThat(Thread.activeCount()).as("platform threads").isLessThanOrEqualTo(threads + 4);
                    assertThat(proxy.openConnections()).as("connections to the store").isLessThanOrEqualTo(16);
                    assertThat(manager.listMounts()).singleElement().extracting(MountInfo::problem).isNull();
                    manager.unmountTemplate(mnt);
                }
            }
        }
        StringBuilder table = new StringBuilder("| fault | cached read during it, ms | uncached read to EIO, ms "
                + "| same read once the store is back, ms |\n|---|---|---|---|\n");
        for (Row row : rows) {
            table.append("| ").append(row.fault()).append(" | ").append(row.cachedMs()).append(" | ")
                    .append(row.eioMs()).append(" | ").append(row.recoveredMs()).append(" |\n");
        }
        System.out.print(table);
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/store-faults.md"), table);
    }

    /** The local store's faults, through a wrapper: failing reads, and reads that return a few bytes at a time. */
    @Test
    void aLocalStoreThatFailsOrReadsShort_givesEioThenExactBytes() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean failing = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean shortReads = new java.util.concurrent.atomic.AtomicBoolean();
        io.tmount.store.ObjectStore local = new StoreLocation.Local(dir.resolve("store")).open();
        try (TemplateStore store = new TemplateStore(new io.tmount.testing.ForwardingStore(local) {
            @Override
            public int read(String key, long offset, java.nio.ByteBuffer dst) throws IOException {
                if (failing.get()) {
                    throw new IOException("injected: the disk under the store failed");
                }
                if (shortReads.get() && dst.remaining() > 3) {
                    java.nio.ByteBuffer few = dst.slice().limit(Math.min(dst.remaining(), 1 + (int) (offset % 4093)));
                    int n = super.read(key, offset, few);
                    dst.position(dst.position() + Math.max(n, 0));
                    return n;
                }
                return super.read(key, offset, dst);
            }
        })) {
            BuildId build = importTemplate(store);
            byte[] big = Files.readAllBytes(dir.resolve("src/big.bin"));
            try (MountManager manager = MountManager.open(new MountManagerConfig(dir.resolve("state"),
                    dir.resolve("run"), store, Attachers.onThisHost(4), Duration.ofMillis(500))
                    .withCache(MIB, 1L << 30) // the wrapper's faults reach the cache only if it copies the chunks
                    .withFetch(io.tmount.image.FetchPolicy.DEFAULT.withCopyLocalStore(true)))) {
                Path mnt = dir.resolve("mnt");
                manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
                Path file = mnt.resolve("big.bin");
                Run.ok("dd", "if=" + file, "of=/dev/null", "bs=1M", "count=1", "iflag=direct");
                failing.set(true);
                assertThat(read(file, 4096).succeeded()).as("cached").isTrue();
                long start = System.nanoTime();
                CommandResult failed = read(file, 5L * MIB);
                assertThat(failed.succeeded()).isFalse();
                assertThat(failed.stderr()).contains("Input/output error");
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
                failing.set(false);
                shortReads.set(true); // every read of the store returns 1 to 4093 bytes: the bytes still come out exact
                Path copy = dir.resolve("copy.bin");
                Run.ok("dd", "if=" + file, "of=" + copy, "bs=1M", "skip=4", "count=2", "iflag=direct");
                assertThat(Files.readAllBytes(copy)).isEqualTo(java.util.Arrays.copyOfRange(big, 4 * MIB, 6 * MIB));
                shortReads.set(false);
                assertThat(manager.listMounts()).singleElement().extracting(MountInfo::problem).isNull();
                manager.unmountTemplate(mnt);
            }
        }
    }

    /** Applies a fault, reads cached and uncached data at {@code mib} of the file, lifts it and reads again. */
    private static Row measure(String fault, Path file, int mib, Consumer<Void> apply, Runnable lift) {
        apply.accept(null);
        long cached;
        long eio;
        try {
            long start = System.nanoTime();
            assertThat(read(file, 4096).succeeded()).as("a cached read during: %s", fault).isTrue();
            cached = millisSince(start);
            start = System.nanoTime();
            CommandResult failed = read(file, (long) mib * MIB);
            eio = millisSince(start);
            assertThat(failed.succeeded()).as("an uncached read during: %s", fault).isFalse();
            assertThat(failed.stderr()).contains("Input/output error");
            assertThat(Duration.ofMillis(eio)).isLessThan(EIO_BOUND);
        } finally {
            lift.run();
        }
        long start = System.nanoTime();
        assertThat(read(file, (long) mib * MIB).succeeded()).as("the read once the store is back: %s", fault).isTrue();
        return new Row(fault, cached, eio, millisSince(start));
    }

    /** The store down for {@code seconds}: every uncached read in it fails in time, every cached one works. */
    private static Row outage(Path file, FaultProxy proxy, long seconds) {
        proxy.down(true);
        long worstEio = 0;
        long worstCached = 0;
        int tries = 0;
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        try {
            while (System.nanoTime() < end || tries == 0) {
                long start = System.nanoTime();
                assertThat(read(file, 8192 + 4096L * (tries % 64)).succeeded()).as("a cached read").isTrue();
                worstCached = Math.max(worstCached, millisSince(start));
                start = System.nanoTime();
                long offset = (long) (10 + tries % 2) * MIB + 4096L * (tries % 200); // within the file
                CommandResult failed = read(file, offset);
                long took = millisSince(start);
                assertThat(failed.succeeded()).as("an uncached read at %d of the file, try %d", offset, tries).isFalse();
                assertThat(Duration.ofMillis(took)).isLessThan(EIO_BOUND);
                worstEio = Math.max(worstEio, took);
                tries++;
            }
        } finally {
            proxy.down(false);
        }
        long start = System.nanoTime();
        assertThat(read(file, 10L * MIB).succeeded()).isTrue();
        return new Row("store down for " + seconds + " s (" + tries + " reads each way, the slowest shown)",
                worstCached, worstEio, millisSince(start));
    }

    /** One 4 KiB read at {@code offset} around the page cache. */
    private static CommandResult read(Path file, long offset) {
        return Run.any("dd", "if=" + file, "of=/dev/null", "bs=4096", "count=1", "skip=" + offset / 4096,
                "iflag=direct");
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    private BuildId importTemplate(TemplateStore store) throws IOException {
        Path source = Trees.sample(dir.resolve("src"), 1);
        byte[] big = new byte[12 * MIB];
        new Random(7).nextBytes(big);
        Files.write(source.resolve("big.bin"), big);
        Path image = dir.resolve("image.ext4");
        Ext4Images.makeFromDirectory(source, 96L * MIB, image);
        return new TemplateCatalog(store, dir.resolve("scratch")).importImage(TEMPLATE, null, image,
                io.tmount.image.WriteFormat.DEFAULT);
    }
}
