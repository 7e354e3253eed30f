package io.tmount.nbd;

import io.tmount.image.BlockImage;
import io.tmount.image.FileImage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.tmount.nbd.NbdProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The server at the byte level: negotiation edge cases and malformed requests real clients never send. */
class NbdServerTest {

    private static final int SIZE = 8 << 20;
    private static final int BOTH_FLAGS = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES;

    @TempDir
    Path dir;

    private Path socket;
    private FileImage image;
    private FileImage readOnlyImage;
    private NbdServer server;

    @BeforeEach
    void start() throws IOException {
        Path file = dir.resolve("disk.img");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(SIZE);
        }
        Path roFile = dir.resolve("ro.img");
        Files.write(roFile, new byte[1 << 20]);
        image = FileImage.open(file, false);
        readOnlyImage = FileImage.open(roFile, true);
        socket = dir.resolve("nbd.sock");
        server = NbdServer.start(NbdListen.unix(socket),
                List.of(new NbdExport("disk", "a test disk", image, false),
                        new NbdExport("ro", "", readOnlyImage, true),
                        new NbdExport("remote", "the disk, its data said not to be local", new NotLocal(image), false)),
                new NbdServer.Limits(1 << 20, 4 << 20));
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        image.close();
        readOnlyImage.close();
    }

    @Test
    void greeting_advertisesFixedNewstyleAndNoZeroes() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            assertThat(client.handshakeFlags).isEqualTo(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
        }
    }

    @Test
    void unknownOption_getsUnsupAndNegotiationContinues() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, 0x1234, "junk".getBytes(StandardCharsets.UTF_8));
            RawNbdClient.OptionReply reply = client.readOptionReply();
            assertThat(reply.option()).isEqualTo(0x1234);
            assertThat(reply.type()).isEqualTo(REP_ERR_UNSUP);
            // nor is STARTTLS; the session still goes on
            client.sendOption(IHAVEOPT, 5, new byte[0]);
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ERR_UNSUP);
            assertThat(client.go("disk")).isEqualTo(SIZE);
        }
    }

    @Test
    void list_namesEveryExport() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, OPT_LIST, new byte[0]);
            List<String> names = new ArrayList<>();
            RawNbdClient.OptionReply reply;
            while ((reply = client.readOptionReply()).type() == REP_SERVER) {
                ByteBuffer data = ByteBuffer.wrap(reply.data());
                byte[] name = new byte[data.getInt()];
                data.get(name);
                names.add(new String(name, StandardCharsets.UTF_8));
            }
            assertThat(reply.type()).isEqualTo(REP_ACK);
            assertThat(names).containsExactly("disk", "ro", "remote");
        }
    }

    @Test
    void list_withData_isInvalid() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, OPT_LIST, new byte[]{1});
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ERR_INVALID);
        }
    }

    @Test
    void info_unknownExport_isErrUnknownAndNamesTheExports() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, OPT_INFO, RawNbdClient.infoRequest("nope"));
            RawNbdClient.OptionReply reply = client.readOptionReply();
            assertThat(reply.type()).isEqualTo(REP_ERR_UNKNOWN);
            assertThat(reply.text()).contains("nope").contains("disk");
        }
    }

    @Test
    void info_reportsSizeFlagsNameAndBlockSizes() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, OPT_INFO, RawNbdClient.infoRequest("ro", INFO_NAME, INFO_BLOCK_SIZE, 0x77));
            Map<Integer, ByteBuffer> infos = new HashMap<>();
            RawNbdClient.OptionReply reply;
            while ((reply = client.readOptionReply()).type() == REP_INFO) {
                ByteBuffer data = ByteBuffer.wrap(reply.data());
                infos.put((int) data.getShort(), data);
            }
            assertThat(reply.type()).isEqualTo(REP_ACK);
            ByteBuffer export = infos.get(INFO_EXPORT);
            assertThat(export.getLong()).isEqualTo(1 << 20);
            assertThat(export.getShort() & TFLAG_READ_ONLY).isNotZero();
            assertThat(StandardCharsets.UTF_8.decode(infos.get(INFO_NAME)).toString()).isEqualTo("ro");
            ByteBuffer sizes = infos.get(INFO_BLOCK_SIZE);
            assertThat(List.of(sizes.getInt(), sizes.getInt(), sizes.getInt())).containsExactly(1, 4096, 1 << 20);
            // INFO does not end negotiation: GO still works afterwards
            assertThat(client.go("ro")).isEqualTo(1 << 20);
        }
    }

    @Test
    void infoWithTruncatedData_isInvalid() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            ByteBuffer data = ByteBuffer.allocate(8).putInt(100).putShort((short) 0).putShort((short) 0);
            client.sendOption(IHAVEOPT, OPT_GO, data.array());
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ERR_INVALID);
            assertThat(client.go("")).isEqualTo(SIZE); // the empty name is the default (first) export
        }
    }

    @Test
    void exportName_withoutNoZeroes_sendsTheZeroPadding() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, CLIENT_FLAG_FIXED_NEWSTYLE)) {
            client.sendOption(IHAVEOPT, OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8));
            ByteBuffer reply = ByteBuffer.wrap(client.readData(10 + 124));
            assertThat(reply.getLong()).isEqualTo(SIZE);
            assertThat(reply.getShort() & TFLAG_SEND_FLUSH).isNotZero();
            assertThat(reply.remaining()).isEqualTo(124);
            roundTrip(client);
        }
    }

    @Test
    void exportName_withNoZeroes_skipsThePadding() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, OPT_EXPORT_NAME, "disk".getBytes(StandardCharsets.UTF_8));
            ByteBuffer reply = ByteBuffer.wrap(client.readData(10));
            assertThat(reply.getLong()).isEqualTo(SIZE);
            roundTrip(client);
        }
    }

    @Test
    void exportName_unknown_closesTheConnection() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
            assertThat(client.closedByServer()).isTrue();
        }
    }

    @Test
    void abort_isAcknowledgedThenClosed() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, OPT_ABORT, new byte[0]);
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ACK);
            assertThat(client.closedByServer()).isTrue();
        }
    }

    @Test
    void unknownClientFlags_closeTheConnection() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, 0x80)) {
            assertThat(client.closedByServer()).isTrue();
        }
    }

    @Test
    void optionWithBadMagic_closesTheConnection() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(0x1122334455667788L, OPT_LIST, new byte[0]);
            assertThat(client.closedByServer()).isTrue();
        }
        assertServerStillServes();
    }

    @Test
    void hugeOptionLength_isTooBigAndClosed() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOptionHeader(OPT_GO, Integer.MAX_VALUE);
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ERR_TOO_BIG);
            assertThat(client.closedByServer()).isTrue();
        }
        assertServerStillServes();
    }

    @Test
    void requestWithBadMagic_closesTheConnection() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.go("disk");
            client.request(0xdeadbeef, 0, CMD_READ, 1, 0, 4096, null);
            assertThat(client.closedByServer()).isTrue();
        }
        assertServerStillServes();
    }

    @Test
    void oversizeWrite_closesTheConnection() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.go("disk");
            client.request(0, CMD_WRITE, 1, 0, (1 << 20) + 1, null); // payload never sent: the server must not wait for it
            assertThat(client.closedByServer()).isTrue();
        }
        assertServerStillServes();
    }

    @Test
    void oversizeRead_isEinval() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.go("disk");
            client.request(0, CMD_READ, 7, 0, (1 << 20) + 1, null);
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(EINVAL, 7));
            roundTrip(client);
        }
    }

    @Test
    void requestsPastTheEnd_getErrorsAndNoData() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.go("disk");
            client.request(0, CMD_READ, 1, SIZE - 512, 1024, null);
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(EINVAL, 1));
            client.request(0, CMD_READ, 2, Long.MAX_VALUE - 10, 4096, null); // offset + length overflows
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(EINVAL, 2));
            client.request(0, CMD_WRITE, 3, SIZE, 4096, ByteBuffer.allocate(4096));
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(ENOSPC, 3));
            client.request(0, CMD_WRITE_ZEROES, 4, SIZE - 4096, 8192, null);
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(ENOSPC, 4));
            client.request(0, CMD_TRIM, 5, -1, 4096, null);
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(EINVAL, 5));
            roundTrip(client); // the connection is still in sync
        }
        assertThat(Files.size(dir.resolve("disk.img"))).isEqualTo(SIZE);
    }

    @Test
    void unknownCommandsAndFlags_areEinval() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.go("disk");
            client.request(0, 99, 1, 0, 0, null);
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(EINVAL, 1));
            client.request(1 << 2, CMD_READ, 2, 0, 512, null); // DF without structured replies
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(EINVAL, 2));
            client.request(CMD_FLAG_NO_HOLE, CMD_WRITE, 3, 0, 512, ByteBuffer.allocate(512));
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(EINVAL, 3));
            client.request(CMD_FLAG_FUA, CMD_READ, 4, 0, 512, null); // FUA is accepted on every command
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(0, 4));
            client.readData(512);
        }
    }

    @Test
    void metaContexts_needStructuredReplies_andOnlyBaseAllocationIsKnown() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, OPT_SET_META_CONTEXT, RawNbdClient.metaContextRequest("disk", BASE_ALLOCATION));
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ERR_INVALID);
            client.sendOption(IHAVEOPT, OPT_STRUCTURED_REPLY, new byte[0]);
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ACK);
            // LIST without queries lists every context
            client.sendOption(IHAVEOPT, OPT_LIST_META_CONTEXT, RawNbdClient.metaContextRequest("disk"));
            RawNbdClient.OptionReply listed = client.readOptionReply();
            assertThat(listed.type()).isEqualTo(REP_META_CONTEXT);
            assertThat(new String(listed.data(), 4, listed.data().length - 4, StandardCharsets.UTF_8)).isEqualTo(BASE_ALLOCATION);
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ACK);
            // unknown namespaces are ignored, unknown exports are errors
            client.sendOption(IHAVEOPT, OPT_SET_META_CONTEXT, RawNbdClient.metaContextRequest("disk", "qemu:dirty-bitmap:x"));
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ACK);
            client.sendOption(IHAVEOPT, OPT_SET_META_CONTEXT, RawNbdClient.metaContextRequest("nope", BASE_ALLOCATION));
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ERR_UNKNOWN);
            client.sendOption(IHAVEOPT, OPT_SET_META_CONTEXT, RawNbdClient.metaContextRequest("disk", BASE_ALLOCATION));
            RawNbdClient.OptionReply set = client.readOptionReply();
            assertThat(set.type()).isEqualTo(REP_META_CONTEXT);
            assertThat(ByteBuffer.wrap(set.data()).getInt()).isEqualTo(BASE_ALLOCATION_ID);
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ACK);
            client.go("disk");

            // a sparse 8 MiB disk with data at 1 MiB: hole, data, hole
            client.request(0, CMD_WRITE, 1, 1 << 20, 8192, ByteBuffer.wrap(new byte[8192]).put(0, (byte) 1));
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(0, 1));
            client.request(0, CMD_BLOCK_STATUS, 2, 0, SIZE, null);
            RawNbdClient.Chunk status = client.readChunk();
            assertThat(status.type()).isEqualTo(REPLY_TYPE_BLOCK_STATUS);
            assertThat(status.done()).isTrue();
            assertThat(status.payload().getInt()).isEqualTo(BASE_ALLOCATION_ID);
            assertThat(descriptors(status.payload())).containsExactly(
                    List.of(1 << 20, 3), List.of(8192, 0), List.of(SIZE - (1 << 20) - 8192, 3));
            client.request(CMD_FLAG_REQ_ONE, CMD_BLOCK_STATUS, 3, 4096, 4096, null);
            RawNbdClient.Chunk one = client.readChunk();
            one.payload().getInt();
            assertThat(descriptors(one.payload())).containsExactly(List.of(4096, 3)); // never past the request
            client.request(0, CMD_BLOCK_STATUS, 4, SIZE - 4096, 8192, null);
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(EINVAL, 4));
        }
    }

    @Test
    void structuredReads_areOneDataChunk_andTheirErrorsErrorChunks() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.sendOption(IHAVEOPT, OPT_STRUCTURED_REPLY, new byte[0]);
            assertThat(client.readOptionReply().type()).isEqualTo(REP_ACK);
            client.go("disk");
            client.request(0, CMD_READ, 7, 4096, 512, null);
            RawNbdClient.Chunk data = client.readChunk();
            assertThat(data.type()).isEqualTo(REPLY_TYPE_OFFSET_DATA);
            assertThat(data.cookie()).isEqualTo(7);
            assertThat(data.done()).isTrue();
            assertThat(data.payload().getLong()).isEqualTo(4096);
            assertThat(data.payload().remaining()).isEqualTo(512);
            client.request(0, CMD_READ, 8, SIZE - 256, 512, null); // past the end: an error chunk, never a simple reply
            RawNbdClient.Chunk error = client.readChunk();
            assertThat(error.type()).isEqualTo(REPLY_TYPE_ERROR);
            assertThat(error.cookie()).isEqualTo(8);
            assertThat(error.payload().getInt()).isEqualTo(EINVAL);
            // without a selected context BLOCK_STATUS is invalid; CACHE is accepted
            client.request(0, CMD_BLOCK_STATUS, 9, 0, 4096, null);
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(EINVAL, 9));
            client.request(0, CMD_CACHE, 10, 0, 1 << 20, null);
            assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(0, 10));
        }
    }

    private static List<List<Integer>> descriptors(ByteBuffer payload) {
        List<List<Integer>> out = new java.util.ArrayList<>();
        while (payload.hasRemaining()) {
            out.add(List.of(payload.getInt(), payload.getInt()));
        }
        return out;
    }

    @Test
    void readOnlyExport_refusesWritesWithEperm() throws IOException {
        byte[] before = Files.readAllBytes(dir.resolve("ro.img"));
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.go("ro");
            ByteBuffer payload = ByteBuffer.wrap(new byte[4096]);
            payload.array()[0] = 1;
            client.request(0, CMD_WRITE, 1, 0, 4096, payload);
            assertThat(client.readReply().error()).isEqualTo(EPERM);
            client.request(0, CMD_TRIM, 2, 0, 4096, null);
            assertThat(client.readReply().error()).isEqualTo(EPERM);
            client.request(0, CMD_WRITE_ZEROES, 3, 0, 4096, null);
            assertThat(client.readReply().error()).isEqualTo(EPERM);
            client.request(0, CMD_FLUSH, 4, 0, 0, null);
            assertThat(client.readReply().error()).isZero();
        }
        assertThat(Files.readAllBytes(dir.resolve("ro.img"))).isEqualTo(before);
    }

    @Test
    void pipelinedRequests_areAllAnsweredWithTheirCookies() throws IOException {
        byte[] data = new byte[SIZE];
        new Random(1).nextBytes(data);
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.go("disk");
            int chunk = 64 << 10;
            int count = SIZE / chunk;
            for (int i = 0; i < count; i++) {
                client.request(0, CMD_WRITE, 1000 + i, (long) i * chunk, chunk, ByteBuffer.wrap(data, i * chunk, chunk));
            }
            List<Long> cookies = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                RawNbdClient.SimpleReply reply = client.readReply();
                assertThat(reply.error()).isZero();
                cookies.add(reply.cookie());
            }
            assertThat(cookies).hasSize(count).doesNotHaveDuplicates().allMatch(c -> c >= 1000 && c < 1000 + count);
            client.request(0, CMD_FLUSH, 1, 0, 0, null);
            assertThat(client.readReply().error()).isZero();
        }
        assertThat(Files.readAllBytes(dir.resolve("disk.img"))).isEqualTo(data);
    }

    @Test
    void manyPipelinedSmallReads_comeBackWithTheirOwnData_inlineAndThreaded_simpleAndStructured() throws Exception {
        byte[] data = new byte[SIZE];
        new Random(9).nextBytes(data);
        Files.write(dir.resolve("disk.img"), data);
        // "disk" is a local file: the reader answers these itself, in batches; "remote" runs each on its own thread
        for (String export : List.of("disk", "remote")) {
            for (boolean structured : List.of(false, true)) {
                pipelineReads(export, structured, data);
            }
        }
    }

    private void pipelineReads(String export, boolean structured, byte[] data) throws Exception {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            if (structured) {
                client.sendOption(IHAVEOPT, OPT_STRUCTURED_REPLY, new byte[0]);
                assertThat(client.readOptionReply().type()).isEqualTo(REP_ACK);
            }
            client.go(export);
            Random random = new Random(10);
            Map<Long, long[]> asked = new java.util.concurrent.ConcurrentHashMap<>();
            for (long cookie = 0; cookie < 600; cookie++) {
                int length = cookie % 3 == 0 ? 4096 // small ones batched, those over 32 KiB sent from the file
                        : cookie % 7 == 1 ? 40_000 + random.nextInt(200_000) : 1 + random.nextInt(20_000);
                asked.put(cookie, new long[]{random.nextInt(SIZE - length), length});
            }
            // sent from another thread, as real clients do: replies must be read while requests still go out
            Thread sender = Thread.ofVirtual().start(() -> {
                try {
                    for (long cookie = 0; cookie < 600; cookie++) {
                        client.request(0, CMD_READ, cookie, asked.get(cookie)[0], (int) asked.get(cookie)[1], null);
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            for (int i = 0; i < 600; i++) {
                long cookie;
                byte[] got;
                if (structured) {
                    RawNbdClient.Chunk chunk = client.readChunk();
                    assertThat(chunk.type()).isEqualTo(REPLY_TYPE_OFFSET_DATA);
                    cookie = chunk.cookie();
                    assertThat(chunk.payload().getLong()).isEqualTo(asked.get(cookie)[0]);
                    got = new byte[chunk.payload().remaining()];
                    chunk.payload().get(got);
                } else {
                    RawNbdClient.SimpleReply reply = client.readReply();
                    assertThat(reply.error()).isZero();
                    cookie = reply.cookie();
                    got = client.readData((int) asked.get(cookie)[1]);
                }
                long[] request = asked.get(cookie);
                assertThat(got).as("%s: cookie %d", export, cookie).isEqualTo(java.util.Arrays.copyOfRange(data,
                        (int) request[0], (int) (request[0] + request[1])));
            }
            sender.join();
        }
    }

    /** An image whose data is never local, as a build not fetched yet: the server runs its requests on threads. */
    private record NotLocal(BlockImage image) implements BlockImage {
        public long size() {
            return image.size();
        }

        public void read(ByteBuffer dst, long offset) throws IOException {
            image.read(dst, offset);
        }

        public void write(ByteBuffer src, long offset) throws IOException {
            image.write(src, offset);
        }

        public void trim(long offset, long length) throws IOException {
            image.trim(offset, length);
        }

        public void writeZeroes(long offset, long length, boolean allocate) throws IOException {
            image.writeZeroes(offset, length, allocate);
        }

        public void flush() throws IOException {
            image.flush();
        }

        public void close() {
        }
    }

    @Test
    void disc_answersOutstandingRequestsFirst() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.go("disk");
            for (int i = 0; i < 16; i++) {
                client.request(0, CMD_READ, i, (long) i * 65536, 65536, null);
            }
            client.request(0, CMD_DISC, 99, 0, 0, null);
            for (int i = 0; i < 16; i++) {
                assertThat(client.readReply().error()).isZero();
                client.readData(65536);
            }
            assertThat(client.closedByServer()).isTrue();
        }
    }

    @Test
    void close_disconnectsClientsAndRemovesTheSocket() throws IOException {
        RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS);
        client.go("disk");
        server.close();
        assertThat(client.closedByServer()).isTrue();
        assertThat(socket).doesNotExist();
        client.close();
    }

    @Test
    void socketIsOnlyForItsOwner() throws IOException {
        assertThat(Files.getPosixFilePermissions(socket)).extracting(Object::toString)
                .containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");
    }

    @Test
    void tcpListener_refusesNonLoopbackUnlessForced() {
        assertThatThrownBy(() -> NbdListen.tcp(new java.net.InetSocketAddress("8.8.8.8", 10809), false))
                .hasMessageContaining("only loopback");
        assertThat(NbdListen.tcp(new java.net.InetSocketAddress("8.8.8.8", 10809), true)).isNotNull();
    }

    @Test
    void socketPathTooLong_isRefusedWithTheLimit() {
        Path longPath = dir.resolve("x".repeat(120));
        assertThatThrownBy(() -> NbdListen.unix(longPath)).hasMessageContaining("at most 107");
    }

    private void roundTrip(RawNbdClient client) throws IOException {
        byte[] pattern = new byte[4096];
        new Random(7).nextBytes(pattern);
        client.request(0, CMD_WRITE, 500, 8192, 4096, ByteBuffer.wrap(pattern));
        assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(0, 500));
        client.request(0, CMD_READ, 501, 8192, 4096, null);
        assertThat(client.readReply()).isEqualTo(new RawNbdClient.SimpleReply(0, 501));
        assertThat(client.readData(4096)).isEqualTo(pattern);
    }

    private void assertServerStillServes() throws IOException {
        try (RawNbdClient client = RawNbdClient.connect(socket, BOTH_FLAGS)) {
            client.go("disk");
            roundTrip(client);
        }
    }
}
