package io.tmount.nbd;

import io.tmount.image.FileImage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import static io.tmount.nbd.NbdProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile clients against the server, at the byte level: random and mutated handshakes and requests of every
 * type, flag, size and offset, clients that never read their replies, connections cut mid-request. After each
 * burst the server must still serve a well-behaved client the exact bytes of a read-only export, and at the end hold
 * no connection. The test command runs 20,000 requests; {@code -Dtmount.fuzz.requests=1000000} runs the long
 * version ({@code scripts/fuzz-nbd}); {@code -Dtmount.fuzz.seed=N} replays a run.
 */
@Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
class NbdFuzzTest {

    private static final int SIZE = 4 << 20;
    private static final int BOTH_FLAGS = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES;

    @TempDir
    Path dir;

    private Path images;
    private FileImage disk;
    private FileImage readOnly;
    private byte[] known;
    private NbdServer server;
    private Path socket;

    @BeforeEach
    void start() throws IOException {
        // the images live in memory (/dev/shm): fuzzed FLUSH and FUA requests would otherwise spend the run in fsync
        images = Files.createTempDirectory(Path.of("/dev/shm"), "tmount-nbd-fuzz-");
        Path file = images.resolve("disk.img");
        Files.write(file, new byte[SIZE]);
        known = new byte[SIZE];
        new Random(42).nextBytes(known);
        Path roFile = Files.write(images.resolve("ro.img"), known);
        disk = FileImage.open(file, false);
        readOnly = FileImage.open(roFile, true);
        socket = dir.resolve("nbd.sock");
        server = NbdServer.start(NbdListen.unix(socket),
                List.of(new NbdExport("disk", "", disk, false), new NbdExport("ro", "", readOnly, true)),
                new NbdServer.Limits(1 << 20, 4 << 20, 64, Duration.ofSeconds(2)));
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        disk.close();
        readOnly.close();
        io.tmount.os.Folders.deleteTree(images);
    }

    @Test
    void randomAndMutatedTraffic_neverHurtsAWellBehavedClient() throws Exception {
        long seed = Long.getLong("tmount.fuzz.seed", System.nanoTime());
        long total = Long.getLong("tmount.fuzz.requests", 20_000);
        Random random = new Random(seed);
        AtomicLong sent = new AtomicLong();
        long start = System.nanoTime();
        int connections = 0;
        while (sent.get() < total) {
            connections++;
            long before = sent.get();
            try {
                hostileConnection(random, sent);
            } catch (IOException expected) {
                // the server may close a connection that broke the protocol; that is its right
            }
            if (sent.get() == before) {
                sent.incrementAndGet(); // a handshake-only connection counts as one request
            }
            if (connections % 50 == 0) {
                assertWellBehavedClientServed("seed " + seed + ", after " + sent.get() + " requests");
            }
        }
        assertWellBehavedClientServed("seed " + seed + ", at the end");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (server.connectionCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(server.connectionCount()).as("connections left open, seed %d", seed).isZero();
        System.out.printf("NBD fuzz: %d requests over %d connections in %d ms (seed %d)%n", sent.get(), connections,
                Duration.ofNanos(System.nanoTime() - start).toMillis(), seed);
    }

    /** One connection of a hostile client: a broken handshake, or a valid one followed by random requests. */
    private void hostileConnection(Random random, AtomicLong sent) throws IOException {
        int kind = random.nextInt(10);
        if (kind == 0) { // garbage from the first byte
            try (SocketChannel channel = SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket))) {
                byte[] junk = new byte[random.nextInt(200)];
                random.nextBytes(junk);
                channel.write(ByteBuffer.wrap(junk));
            }
            return;
        }
        try (RawNbdClient client = RawNbdClient.connect(socket, random.nextInt(8) == 0 ? random.nextInt() : BOTH_FLAGS)) {
            if (kind == 1) { // a random option, then leave
                byte[] data = new byte[random.nextInt(64)];
                random.nextBytes(data);
                client.sendOption(random.nextInt(4) == 0 ? random.nextLong() : IHAVEOPT, random.nextInt(16), data);
                return;
            }
            if (random.nextBoolean()) {
                client.sendOption(IHAVEOPT, OPT_STRUCTURED_REPLY, new byte[0]);
                client.readOptionReply();
            }
            if (random.nextInt(3) == 0) {
                client.sendOption(IHAVEOPT, OPT_SET_META_CONTEXT,
                        RawNbdClient.metaContextRequest("disk", "base:allocation"));
                for (int type = 0; type != REP_ACK && type >= 0; type = client.readOptionReply().type()) {
                    // contexts, then the ACK; or an error (without structured replies there is no context)
                }
            }
            client.go(random.nextInt(4) == 0 ? "ro" : "disk");
            // replies are drained by a reader of their own unless this client is one that never reads
            boolean reads = random.nextInt(5) != 0;
            Thread drainer = reads ? Thread.ofPlatform().daemon().start(() -> drain(client.channel)) : null;
            // a client that does not read is pushed back by the server: its writes block, and it gives up
            Thread giveUp = Thread.ofPlatform().daemon().start(() -> {
                try {
                    Thread.sleep(reads ? 3_000 : 200);
                    client.close();
                } catch (InterruptedException | IOException done) {
                    // finished in time
                }
            });
            try {
                int requests = 1 + random.nextInt(200);
                for (int i = 0; i < requests; i++) {
                    sendRandomRequest(client, random);
                    sent.incrementAndGet();
                }
            } finally {
                giveUp.interrupt();
                client.close();
                if (drainer != null) {
                    drainer.join(5_000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sendRandomRequest(RawNbdClient client, Random random) throws IOException {
        int type = random.nextInt(12) == 0 ? random.nextInt(1 << 16) : random.nextInt(8);
        if (type == CMD_DISC && random.nextBoolean()) {
            type = CMD_READ; // a disconnect ends the burst early; keep most bursts going
        }
        int flags = random.nextInt(4) == 0 ? random.nextInt(1 << 16) : random.nextInt(16);
        long offset = switch (random.nextInt(5)) {
            case 0 -> random.nextLong();
            case 1 -> SIZE - random.nextInt(8192);
            case 2 -> 0;
            default -> random.nextInt(SIZE);
        };
        int length = switch (random.nextInt(6)) {
            case 0 -> 0;
            case 1 -> random.nextInt();
            case 2 -> (1 << 20) + random.nextInt(3); // at and just over the payload limit
            default -> random.nextInt(64 * 1024);
        };
        int magic = random.nextInt(50) == 0 ? random.nextInt() : REQUEST_MAGIC;
        ByteBuffer payload = null;
        if (type == CMD_WRITE && length > 0 && length <= (1 << 20)) {
            // most writes carry their payload; some are cut short (the connection ends mid-request)
            int carried = random.nextInt(10) == 0 ? random.nextInt(length) : length;
            payload = ByteBuffer.allocate(carried);
        }
        client.request(magic, flags, type, random.nextLong(), offset, length, payload);
    }

    private static void drain(SocketChannel channel) {
        ByteBuffer sink = ByteBuffer.allocate(256 * 1024);
        try {
            while (channel.read(sink.clear()) >= 0) {
                // discard
            }
        } catch (IOException closed) {
            // the connection ended
        }
    }

    /** A client that follows the protocol reads exact bytes of the read-only export, with structured replies too. */
    private void assertWellBehavedClientServed(String when) throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            assertThat(client.go("ro")).as(when).isEqualTo(SIZE);
            client.request(0, CMD_READ, 1, 12345, 4096, null);
            assertThat(client.readReply().error()).as(when).isZero();
            assertThat(client.readData(4096)).as(when)
                    .isEqualTo(java.util.Arrays.copyOfRange(known, 12345, 12345 + 4096));
        }
    }
}
