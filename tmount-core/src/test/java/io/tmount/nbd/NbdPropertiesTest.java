package io.tmount.nbd;

import io.tmount.image.FileImage;
import io.tmount.image.Overlay;
import io.tmount.os.Folders;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.tmount.nbd.NbdProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Properties of the NBD server, checked by jqwik over generated (and, on failure, shrunk) inputs, on a writable
 * export of an overlay over a file, as a writable mount's server is: any sequence of reads, writes, trims, zeroings
 * and flushes reads back what a byte-array model holds; any single request, however malformed, gets a reply the spec
 * allows, or the connection is closed for a reason the spec gives, and the server serves the next client; any
 * sequence of handshake options gets its replies or a close, never a hang.
 */
class NbdPropertiesTest {

    private static final int SIZE = 256 * 1024;
    private static final int MAX_PAYLOAD = 64 * 1024;
    private static final int BOTH_FLAGS = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES;
    private static final Set<Integer> ERRORS = Set.of(0, EPERM, EIO, ENOMEM, EINVAL, ENOSPC, ESHUTDOWN);

    /** One request of the model-checked sequence; {@code seed} makes a write's bytes. */
    record Op(int type, int offset, int length, boolean fua, boolean noHole, long seed) {
    }

    /** A served overlay over a file of random bytes, and the model of what it holds. */
    private static final class Served implements AutoCloseable {
        final Path dir;
        final byte[] model = new byte[SIZE];
        final FileImage base;
        final Overlay overlay;
        final NbdServer server;
        final Path socket;

        Served() throws IOException {
            dir = Files.createTempDirectory("nbd-properties-");
            new Random(SIZE).nextBytes(model);
            Files.write(dir.resolve("base.img"), model);
            base = FileImage.open(dir.resolve("base.img"), true);
            overlay = Overlay.open(base, dir.resolve("overlay"));
            socket = dir.resolve("nbd.sock");
            server = NbdServer.start(NbdListen.unix(socket), List.of(new NbdExport("disk", "", overlay, false)),
                    new NbdServer.Limits(MAX_PAYLOAD, 4 * MAX_PAYLOAD));
        }

        RawNbdClient client() throws IOException {
            RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS);
            client.go("disk");
            return client;
        }

        @Override
        public void close() throws IOException {
            server.close();
            overlay.close();
            base.close();
            Folders.deleteTree(dir);
        }
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Integer> type = Arbitraries.of(CMD_READ, CMD_WRITE, CMD_WRITE, CMD_TRIM, CMD_WRITE_ZEROES, CMD_FLUSH);
        Arbitrary<Integer> offset = Arbitraries.oneOf(Arbitraries.integers().between(0, SIZE - 1),
                Arbitraries.integers().between(0, SIZE / 4096 - 1).map(b -> b * 4096)); // unaligned, and block edges
        Arbitrary<Integer> length = Arbitraries.oneOf(Arbitraries.integers().between(0, MAX_PAYLOAD),
                Arbitraries.integers().between(0, MAX_PAYLOAD / 4096).map(b -> b * 4096));
        Arbitrary<Op> op = Combinators.combine(type, offset, length, Arbitraries.of(true, false),
                Arbitraries.of(true, false), Arbitraries.longs())
                .as((t, o, l, fua, noHole, seed) -> new Op(t, o, Math.min(l, SIZE - o), fua, noHole, seed));
        return op.list().ofMinSize(1).ofMaxSize(40);
    }

    @Property(tries = 60)
    void anySequenceOfRequests_readsBackWhatTheModelHolds(@ForAll("operations") List<Op> ops) throws Exception {
        try (Served served = new Served(); RawNbdClient client = served.client()) {
            long cookie = 0;
            for (Op op : ops) {
                int flags = (op.fua() && op.type() != CMD_READ ? CMD_FLAG_FUA : 0)
                        | (op.noHole() && op.type() == CMD_WRITE_ZEROES ? CMD_FLAG_NO_HOLE : 0);
                ByteBuffer payload = null;
                int length = op.type() == CMD_FLUSH ? 0 : op.length();
                if (op.type() == CMD_WRITE) {
                    byte[] data = new byte[length];
                    new Random(op.seed()).nextBytes(data);
                    payload = ByteBuffer.wrap(data);
                    System.arraycopy(data, 0, served.model, op.offset(), length);
                } else if (op.type() == CMD_TRIM || op.type() == CMD_WRITE_ZEROES) {
                    // the overlay reads a trimmed range as zeros, like WRITE_ZEROES
                    Arrays.fill(served.model, op.offset(), op.offset() + length, (byte) 0);
                }
                long sent = ++cookie;
                client.request(flags, op.type(), sent, op.type() == CMD_FLUSH ? 0 : op.offset(), length, payload);
                RawNbdClient.SimpleReply reply = client.readReply();
                assertThat(reply.cookie()).isEqualTo(sent);
                assertThat(reply.error()).as("%s", op).isZero();
                if (op.type() == CMD_READ) {
                    sameBytes(client.readData(length), Arrays.copyOfRange(served.model, op.offset(),
                            op.offset() + length), op.toString());
                }
            }
            client.request(0, CMD_READ, ++cookie, 0, MAX_PAYLOAD, null); // and once more at the start
            assertThat(client.readReply().error()).isZero();
            sameBytes(client.readData(MAX_PAYLOAD), Arrays.copyOf(served.model, MAX_PAYLOAD), "the first 64 KiB");
        }
    }

    /** Equal bytes, or a failure naming the first difference (not two 64 KiB arrays). */
    private static void sameBytes(byte[] actual, byte[] expected, String what) {
        int at = Arrays.mismatch(actual, expected);
        assertThat(at).as("%s: first difference at byte %d of %d", what, at, expected.length).isEqualTo(-1);
    }

    @Property(tries = 300)
    void anyRequest_getsAnAllowedReplyOrAClose_andTheServerServesTheNextClient(
            @ForAll("magics") int magic, @ForAll("types") int type, @ForAll("flags") int flags,
            @ForAll("offsets") long offset, @ForAll("lengths") int length) throws Exception {
        try (Served served = new Served()) {
            try (RawNbdClient client = served.client()) {
                long unsignedLength = Integer.toUnsignedLong(length);
                // no payload after a bad magic: the server closes at once, and sending more would only fail here
                boolean payload = magic == REQUEST_MAGIC && type == CMD_WRITE && unsignedLength <= MAX_PAYLOAD;
                client.request(magic, flags, type, 42, offset, length,
                        payload ? ByteBuffer.allocate(length) : null);
                boolean closes = magic != REQUEST_MAGIC || type == CMD_DISC
                        || (type == CMD_WRITE && unsignedLength > MAX_PAYLOAD);
                CompletableFuture<Void> answer = CompletableFuture.runAsync(() -> {
                    try {
                        if (closes) {
                            assertThat(client.closedByServer()).isTrue();
                            return;
                        }
                        RawNbdClient.SimpleReply reply = client.readReply();
                        assertThat(reply.cookie()).isEqualTo(42);
                        assertThat(ERRORS).contains(reply.error());
                        if (type == CMD_READ && reply.error() == 0) {
                            assertThat(client.readData(length)).hasSize(length);
                        }
                        boolean valid = (flags & ~CMD_FLAG_FUA) == 0 && offset >= 0 && unsignedLength <= SIZE && offset <= SIZE - unsignedLength
                                && unsignedLength <= MAX_PAYLOAD && (type == CMD_READ || type == CMD_WRITE);
                        if (valid) {
                            assertThat(reply.error()).isZero();
                        }
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                });
                answer.get(10, TimeUnit.SECONDS);
            }
            try (RawNbdClient next = served.client()) { // the server still serves (the request may have written)
                next.request(0, CMD_READ, 7, 0, 4096, null);
                assertThat(next.readReply().error()).isZero();
                assertThat(next.readData(4096)).hasSize(4096);
            }
        }
    }

    @Provide
    Arbitrary<Integer> magics() {
        // mostly the right magic, so the rest of the request is what gets tried
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(19, Arbitraries.just(REQUEST_MAGIC)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers()));
    }

    @Provide
    Arbitrary<Integer> types() {
        return Arbitraries.oneOf(Arbitraries.integers().between(0, 8), Arbitraries.integers().between(0, 0xffff));
    }

    @Provide
    Arbitrary<Integer> flags() {
        return Arbitraries.oneOf(Arbitraries.of(0, CMD_FLAG_FUA, CMD_FLAG_NO_HOLE, CMD_FLAG_REQ_ONE),
                Arbitraries.integers().between(0, 0xffff));
    }

    @Provide
    Arbitrary<Long> offsets() {
        return Arbitraries.oneOf(Arbitraries.longs().between(0, SIZE), Arbitraries.of(-1L, Long.MAX_VALUE,
                Long.MIN_VALUE, (long) SIZE - 1, (long) SIZE + 1), Arbitraries.longs());
    }

    @Provide
    Arbitrary<Integer> lengths() {
        return Arbitraries.oneOf(Arbitraries.integers().between(0, MAX_PAYLOAD),
                Arbitraries.of(0, 1, MAX_PAYLOAD + 1, -1, Integer.MAX_VALUE, SIZE), Arbitraries.integers());
    }

    @Property(tries = 200)
    void anySequenceOfHandshakeOptions_getsItsRepliesOrAClose_andTheServerStillNegotiates(
            @ForAll @Size(max = 8) List<@net.jqwik.api.constraints.IntRange(min = 0, max = 16) Integer> options,
            @ForAll @Size(max = 64) List<Byte> data) throws Exception {
        try (Served served = new Served()) {
            CompletableFuture<Void> session = CompletableFuture.runAsync(() -> {
                try (RawNbdClient client = RawNbdClient.connect(served.socket, BOTH_FLAGS)) {
                    byte[] bytes = new byte[data.size()];
                    for (int i = 0; i < bytes.length; i++) {
                        bytes[i] = data.get(i);
                    }
                    for (int option : options) {
                        client.sendOption(IHAVEOPT, option, bytes);
                        if (option == OPT_EXPORT_NAME || option == OPT_ABORT) {
                            return; // the negotiation ends either way
                        }
                        RawNbdClient.OptionReply reply;
                        do {
                            reply = client.readOptionReply();
                            assertThat(reply.option()).isEqualTo(option);
                        } while (reply.type() != REP_ACK && reply.type() > 0);
                        if (option == OPT_GO && reply.type() == REP_ACK) {
                            return; // in the transmission phase now
                        }
                    }
                } catch (IOException closed) {
                    // the server may end a negotiation it does not like: it must not hang or die
                }
            });
            session.get(10, TimeUnit.SECONDS);
            try (RawNbdClient next = served.client()) {
                next.request(0, CMD_READ, 1, 0, 512, null);
                assertThat(next.readReply().error()).isZero();
            }
        }
    }
}
