package io.tmount.nbd;

import io.tmount.image.FileImage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.tmount.nbd.NbdProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 12 D6: a client that opens connections and never negotiates must not hold the server's descriptors, nor
 * keep other clients out for longer than the handshake deadline.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NbdServerLimitsTest {

    private static final int BOTH_FLAGS = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES;
    private static final int CAP = 4;
    private static final Duration DEADLINE = Duration.ofSeconds(1);

    @TempDir
    Path dir;

    private FileImage image;
    private NbdServer server;
    private Path socket;
    private final List<SocketChannel> opened = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        Path file = dir.resolve("disk.img");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(1 << 20);
        }
        image = FileImage.open(file, false);
        socket = dir.resolve("nbd.sock");
        server = NbdServer.start(NbdListen.unix(socket), List.of(new NbdExport("disk", "", image, false)),
                NbdServer.Limits.DEFAULT.withConnections(CAP, DEADLINE));
    }

    @AfterEach
    void stop() throws IOException {
        for (SocketChannel channel : opened) {
            channel.close();
        }
        server.close();
        image.close();
    }

    @Test
    void aClientThatStallsInTheHandshake_isCutOffAtTheDeadline() throws IOException {
        SocketChannel idle = connect();
        ByteBuffer greeting = ByteBuffer.allocate(18);
        while (greeting.hasRemaining()) {
            assertThat(idle.read(greeting)).isNotNegative();
        }
        long start = System.nanoTime();
        assertThat(idle.read(ByteBuffer.allocate(1))).as("the server closes the stalled connection").isEqualTo(-1);
        Duration waited = Duration.ofNanos(System.nanoTime() - start);
        assertThat(waited).isBetween(DEADLINE.minusMillis(300), DEADLINE.plusSeconds(3));
        awaitConnections(0);
    }

    @Test
    void requestsInFlight_areCappedPerConnection_andAllAreAnsweredOnceTheyMayRun() throws Exception {
        // flushes that block until released: how many run at once is what the cap allows
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger most = new java.util.concurrent.atomic.AtomicInteger();
        io.tmount.image.BlockImage blocking = new io.tmount.image.BlockImage() {
            public long size() { return 1 << 20; }
            public void read(java.nio.ByteBuffer dst, long offset) { dst.position(dst.limit()); }
            public void write(java.nio.ByteBuffer src, long offset) { src.position(src.limit()); }
            public void trim(long offset, long length) { }
            public void writeZeroes(long offset, long length, boolean allocate) { }
            public void flush() throws java.io.IOException {
                most.accumulateAndGet(running.incrementAndGet(), Math::max);
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                } finally {
                    running.decrementAndGet();
                }
            }
            public void close() { }
        };
        Path other = dir.resolve("blocking.sock");
        int requests = Transmission.MAX_REQUESTS_IN_FLIGHT + 50;
        try (NbdServer blockingServer = NbdServer.start(NbdListen.unix(other),
                List.of(new NbdExport("disk", "", blocking, false)), NbdServer.Limits.DEFAULT);
             RawNbdClient client = RawNbdClient.connect(other, BOTH_FLAGS)) {
            client.go("disk");
            for (int i = 0; i < requests; i++) {
                client.request(0, NbdProtocol.CMD_FLUSH, i, 0, 0, null);
            }
            long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
            while (running.get() < Transmission.MAX_REQUESTS_IN_FLIGHT && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Thread.sleep(300); // room for any request past the cap to start, if the cap did not hold
            assertThat(most.get()).isEqualTo(Transmission.MAX_REQUESTS_IN_FLIGHT);
            release.countDown();
            java.util.Set<Long> answered = new java.util.HashSet<>();
            for (int i = 0; i < requests; i++) {
                RawNbdClient.SimpleReply reply = client.readReply();
                assertThat(reply.error()).isZero();
                answered.add(reply.cookie());
            }
            assertThat(answered).hasSize(requests);
        }
    }

    @Test
    void aNegotiatedSession_outlivesTheDeadline() throws Exception {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            assertThat(client.go("disk")).isEqualTo(1 << 20);
            Thread.sleep(DEADLINE.toMillis() + 700);
            client.request(0, CMD_READ, 7, 0, 512, null);
            assertThat(client.readReply().error()).isZero();
            assertThat(client.readData(512)).containsOnly(0);
        }
    }

    @Test
    void connectionsOverTheCap_areClosedAtOnce_andTheCapFreesAsTheyGo() throws Exception {
        List<SocketChannel> stalled = new ArrayList<>();
        for (int i = 0; i < CAP; i++) {
            stalled.add(connect());
        }
        awaitConnections(CAP);
        SocketChannel over = connect();
        long start = System.nanoTime();
        assertThat(readUntilEnd(over)).as("no greeting for a connection over the cap").isZero();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(DEADLINE);
        assertThat(server.connectionCount()).isEqualTo(CAP);

        stalled.getFirst().close();
        awaitConnections(CAP - 1);
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            assertThat(client.go("disk")).isEqualTo(1 << 20);
        }
    }

    @Test
    void aTcpFloodFromAnotherUser_costsNoMoreThanTheCap() throws Exception {
        try (NbdServer tcp = NbdServer.start(NbdListen.tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                false), List.of(new NbdExport("disk", "", image, true)), NbdServer.Limits.DEFAULT.withConnections(
                CAP, DEADLINE))) {
            InetSocketAddress address = tcp.endpoint().tcp();
            for (int i = 0; i < 50; i++) {
                opened.add(SocketChannel.open(address));
            }
            Thread.sleep(300);
            assertThat(tcp.connectionCount()).isEqualTo(CAP);
            // the flood waits out the deadline and is gone; nothing is left open on the server's side
            long deadline = System.nanoTime() + DEADLINE.plusSeconds(5).toNanos();
            while (tcp.connectionCount() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(tcp.connectionCount()).isZero();
        }
    }

    private SocketChannel connect() throws IOException {
        SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        opened.add(channel);
        return channel;
    }

    private static int readUntilEnd(SocketChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(64);
        int total = 0;
        for (int n; (n = channel.read(buffer)) >= 0; buffer.clear()) {
            total += n;
        }
        return total;
    }

    private void awaitConnections(int count) throws IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (server.connectionCount() != count && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(server.connectionCount()).isEqualTo(count);
    }
}
