package io.tmount.nbd;

import io.tmount.image.FileImage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.tmount.nbd.NbdProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12: clients that announce large writes and never send the data held the payload memory for good, and across
 * servers nothing bounded the sum (a 256 MiB heap's direct memory ran out and unrelated requests failed). A write's
 * payload that stops arriving now ends its connection at the payload timeout; servers of one kind share a budget,
 * and mounts' servers never wait for exports' clients.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PayloadBudgetTest {

    private static final int BOTH_FLAGS = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES;
    private static final int MIB = 1 << 20;
    private static final Duration PAYLOAD_TIMEOUT = Duration.ofSeconds(3); // room for a slow machine to set up
    /** Payloads up to 1 MiB, two of them in flight per server. */
    private static final NbdServer.Limits LIMITS = new NbdServer.Limits(MIB, 2 * MIB)
            .withPayloadTimeout(PAYLOAD_TIMEOUT);

    @TempDir
    Path dir;

    private FileImage image;
    private final List<NbdServer> servers = new ArrayList<>();
    private final List<RawNbdClient> clients = new ArrayList<>();

    @BeforeEach
    void image() throws IOException {
        Path file = dir.resolve("disk.img");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(16 * MIB);
        }
        image = FileImage.open(file, false);
    }

    @AfterEach
    void stop() throws IOException {
        for (RawNbdClient client : clients) {
            client.close();
        }
        for (NbdServer server : servers) {
            server.close();
        }
        image.close();
    }

    private Path serve(String name, PayloadBudget shared) throws IOException {
        Path socket = dir.resolve(name + ".sock");
        servers.add(NbdServer.start(NbdListen.unix(socket), List.of(new NbdExport("disk", "", image, false)), LIMITS,
                shared));
        return socket;
    }

    private RawNbdClient client(Path socket) throws IOException {
        RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS);
        clients.add(client);
        client.go("disk");
        return client;
    }

    /** Announces a 1 MiB write and sends 10 bytes of it. */
    private RawNbdClient stalledWriter(Path socket) throws IOException {
        RawNbdClient client = client(socket);
        client.request(0, CMD_WRITE, 1, 0, MIB, ByteBuffer.wrap(new byte[10]));
        return client;
    }

    /** A whole 1 MiB write; completes with the reply's error once the server answers. */
    private CompletableFuture<Integer> write(Path socket, long offset) throws IOException {
        RawNbdClient client = client(socket);
        return CompletableFuture.supplyAsync(() -> {
            try {
                client.request(0, CMD_WRITE, 7, offset, MIB, ByteBuffer.allocate(MIB));
                return client.readReply().error();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void stalledWritesAreCutOffAtThePayloadTimeout_andTheMemoryTheyHeldServesOthers() throws Exception {
        Path socket = serve("one", new PayloadBudget(64L * MIB));
        List<RawNbdClient> stalled = List.of(stalledWriter(socket), stalledWriter(socket)); // the server's whole budget
        Thread.sleep(200);
        long start = System.nanoTime();
        CompletableFuture<Integer> honest = write(socket, 4 * MIB);
        assertThat(honest.get(10, TimeUnit.SECONDS)).isZero(); // before: it waited for ever
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(PAYLOAD_TIMEOUT.plusSeconds(3));
        for (RawNbdClient client : stalled) {
            assertThat(client.closedByServer()).isTrue();
        }
    }

    @Test
    void serversOfOneKindShareTheirBudget_butMountsNeverWaitForExports() throws Exception {
        PayloadMemory memory = PayloadMemory.ofTotal(2 * PayloadMemory.MIN_SHARE_BYTES); // 32 MiB each
        Path exportA = serve("export-a", memory.exports());
        Path exportB = serve("export-b", memory.exports());
        Path mount = serve("mount", memory.mounts());
        // 16 exports' clients hold the exports' whole share (32 MiB), 2 MiB on each of 16 servers' own budgets
        for (int i = 0; i < 15; i++) {
            serve("hostile-" + i, memory.exports());
        }
        for (int i = 0; i < 15; i++) {
            Path hostile = dir.resolve("hostile-" + i + ".sock");
            stalledWriter(hostile);
            stalledWriter(hostile);
        }
        stalledWriter(exportA);
        stalledWriter(exportA);
        Thread.sleep(200);
        assertThat(memory.exports().freeBytes()).isZero();

        // a mount's server has its own share: no waiting
        assertThat(write(mount, 0).get(PAYLOAD_TIMEOUT.toMillis() / 2, TimeUnit.MILLISECONDS)).isZero();
        // another export waits for the shared budget until the stalled writers are cut off
        CompletableFuture<Integer> other = write(exportB, 2 * MIB);
        Thread.sleep(PAYLOAD_TIMEOUT.toMillis() / 4);
        assertThat(other).isNotDone();
        assertThat(other.get(10, TimeUnit.SECONDS)).isZero();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (memory.exports().freeBytes() < memory.exports().bytes() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(memory.exports().freeBytes()).as("every stalled writer cut off, its memory back")
                .isEqualTo(memory.exports().bytes());
    }
}
