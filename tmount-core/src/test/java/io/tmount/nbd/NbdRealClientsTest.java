package io.tmount.nbd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.image.FileImage;
import io.tmount.os.CommandResult;
import io.tmount.testing.HostTool;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Conformance against real NBD clients: qemu-io, nbdinfo, nbdcopy and nbdsh (libnbd with strict mode off). */
@ExtendWith(NoLeftovers.class)
class NbdRealClientsTest {

    private static final int SIZE = 32 << 20;

    @TempDir
    Path dir;

    private Path file;
    private FileImage image;
    private NbdServer server;
    private String uri;

    @BeforeEach
    void start() throws IOException {
        file = dir.resolve("disk.img");
        byte[] data = new byte[SIZE];
        new Random(3).nextBytes(data);
        Files.write(file, data);
        image = FileImage.open(file, false);
        server = NbdServer.start(NbdListen.unix(dir.resolve("nbd.sock")), new NbdExport("disk", "test disk", image, false));
        uri = server.endpoint().uri();
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        image.close();
    }

    @Test
    void qemuIo_writeReadVerifyDiscardZeroFlush() {
        String qemuIo = HostTool.require("qemu-io", "qemu-utils").toString();
        CommandResult result = Run.ok(qemuIo, "-f", "raw", uri,
                "-c", "write -P 0xab 0 64k",
                "-c", "read -P 0xab 0 64k",
                "-c", "write -P 0xcd 70001 3000",         // unaligned
                "-c", "read -P 0xcd 70001 3000",
                "-c", "write -z 1M 256k",
                "-c", "read -P 0 1M 256k",
                "-c", "discard 2M 1M",
                "-c", "write -P 0x11 -f 4M 128k",          // FUA
                "-c", "flush",
                "-c", "aio_write -P 0x22 8M 1M",
                "-c", "aio_write -P 0x33 9M 1M",
                "-c", "aio_flush",
                "-c", "read -P 0x22 8M 1M",
                "-c", "read -P 0x33 9M 1M",
                "-c", "read -P 0x11 4M 128k");
        assertThat(result.stdout()).doesNotContain("fail").doesNotContain("error");
        // and the writes are in the image file
        Run.ok(qemuIo, "-f", "raw", file.toString(), "-c", "read -P 0xab 0 64k", "-c", "read -P 0x33 9M 1M");
    }

    @Test
    void qemuIo_patternMismatch_isReported() {
        String qemuIo = HostTool.require("qemu-io", "qemu-utils").toString();
        CommandResult result = Run.any(qemuIo, "-f", "raw", uri, "-c", "read -P 0x99 0 4k");
        assertThat(result.succeeded()).isFalse(); // proves the verifying reads above can fail
        assertThat(result.stdout()).contains("Pattern verification failed");
    }

    @Test
    void nbdinfo_seesSizeFlagsAndBlockSizes() throws IOException {
        String nbdinfo = HostTool.require("nbdinfo", "libnbd-bin").toString();
        JsonNode info = new ObjectMapper().readTree(Run.ok(nbdinfo, "--json", uri).stdout());
        assertThat(info.path("protocol").asText()).isEqualTo("newstyle-fixed");
        JsonNode export = info.path("exports").get(0);
        assertThat(export.path("export-name").asText()).isEqualTo("disk");
        assertThat(export.path("description").asText()).isEqualTo("test disk");
        assertThat(export.path("export-size").asLong()).isEqualTo(SIZE);
        assertThat(export.path("is_read_only").asBoolean()).isFalse();
        assertThat(export.path("can_flush").asBoolean()).isTrue();
        assertThat(export.path("can_fua").asBoolean()).isTrue();
        assertThat(export.path("can_trim").asBoolean()).isTrue();
        assertThat(export.path("can_zero").asBoolean()).isTrue();
        assertThat(export.path("can_multi_conn").asBoolean()).isTrue();
        assertThat(export.path("block_size_preferred").asInt()).isEqualTo(4096);
        assertThat(export.path("block_size_maximum").asInt()).isEqualTo(32 << 20);
    }

    @Test
    void nbdinfo_listsExports() {
        String nbdinfo = HostTool.require("nbdinfo", "libnbd-bin").toString();
        String out = Run.ok(nbdinfo, "--list", "nbd+unix://?socket=" + dir.resolve("nbd.sock")).stdout();
        assertThat(out).contains("export=\"disk\"");
    }

    @Test
    void nbdcopy_oneAndFourConnections_copyTheImageExactly() {
        String nbdcopy = HostTool.require("nbdcopy", "libnbd-bin").toString();
        String expected = Trees.sha256(file);
        for (String connections : List.of("1", "4")) {
            Path copy = dir.resolve("copy-" + connections + ".img");
            Run.ok(nbdcopy, "--connections=" + connections, "--requests=32", uri, copy.toString());
            assertThat(Trees.sha256(copy)).as("copy over %s connection(s)", connections).isEqualTo(expected);
        }
    }

    @Test
    void nbdcopy_intoTheExport_writesEveryByte() throws IOException {
        String nbdcopy = HostTool.require("nbdcopy", "libnbd-bin").toString();
        Path source = dir.resolve("source.img");
        byte[] data = new byte[SIZE];
        new Random(11).nextBytes(data);
        Files.write(source, data);
        Run.ok(nbdcopy, "--connections=4", "--flush", source.toString(), uri);
        assertThat(Trees.sha256(file)).isEqualTo(Trees.sha256(source));
    }

    /** A sparse 64 MiB image with data only in [8 MiB, 10 MiB). */
    private Path sparseFile() throws IOException {
        Path sparse = dir.resolve("sparse.img");
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(sparse,
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            byte[] data = new byte[2 << 20];
            new Random(5).nextBytes(data);
            channel.write(java.nio.ByteBuffer.wrap(data), 8 << 20);
            channel.truncate(64 << 20);
            channel.write(java.nio.ByteBuffer.allocate(1), (64 << 20) - 1);
        }
        Run.ok("fallocate", "--punch-hole", "--offset", String.valueOf((64 << 20) - 4096), "--length", "4096",
                sparse.toString());
        return sparse;
    }

    private NbdServer serve(FileImage sparse) throws IOException {
        return NbdServer.start(NbdListen.unix(dir.resolve("sparse.sock")), new NbdExport("sparse", "", sparse, true));
    }

    @Test
    void holes_areSeenByNbdinfoQemuImgAndNbdcopy() throws IOException {
        try (FileImage image = FileImage.open(sparseFile(), true); NbdServer sparse = serve(image)) {
            String sparseUri = sparse.endpoint().uri();
            String map = Run.ok(HostTool.require("nbdinfo", "libnbd-bin").toString(), "--map", sparseUri).stdout();
            assertThat(map.lines().map(String::strip).toList()).containsExactly(
                    "0     8388608    3  hole,zero", "8388608     2097152    0  data", "10485760    56623104    3  hole,zero");
            JsonNode qemuMap = new ObjectMapper().readTree(Run.ok(HostTool.require("qemu-img", "qemu-utils").toString(),
                    "map", "-f", "raw", "--output=json", sparseUri).stdout());
            assertThat(qemuMap).hasSize(3);
            assertThat(qemuMap.get(1).path("data").asBoolean()).isTrue();
            assertThat(qemuMap.get(2).path("zero").asBoolean()).isTrue();
            // nbdcopy skips the holes: the copy is sparse too, and exact
            Path copy = dir.resolve("sparse-copy.img");
            Run.ok(HostTool.require("nbdcopy", "libnbd-bin").toString(), sparseUri, copy.toString());
            assertThat(Trees.sha256(copy)).isEqualTo(Trees.sha256(dir.resolve("sparse.img")));
            long allocated = Long.parseLong(Run.ok("stat", "--format=%b", copy.toString()).stdout().strip()) * 512;
            assertThat(allocated).isLessThan(4L << 20);
        }
    }

    @Test
    void nbdsh_blockStatusWithReqOne_andCache() throws IOException {
        try (FileImage image = FileImage.open(sparseFile(), true); NbdServer sparse = serve(image)) {
            String script = String.join("\n",
                    "seen = []",
                    "def f(metacontext, offset, entries, err):",
                    "    seen.append((metacontext, offset, list(entries)))",
                    "h.block_status(16 << 20, 0, f, nbd.CMD_FLAG_REQ_ONE)",
                    "h.block_status(4 << 20, 8 << 20, f)",
                    "print(seen)",
                    "h.cache(2 << 20, 8 << 20)",
                    "print('cached')");
            String out = Run.ok("env", "PATH=/usr/bin:/bin", HostTool.require("nbdsh", "libnbd-bin").toString(),
                    "--base-allocation", "-u", sparse.endpoint().uri(), "-c", script).stdout();
            assertThat(out).contains("('base:allocation', 0, [8388608, 3])")
                    .contains("('base:allocation', 8388608, [2097152, 0, 2097152, 3])").contains("cached");
        }
    }

    @Test
    void nbdsh_strictModeOff_malformedRequestsGetErrors() {
        String script = String.join("\n",
                "h.set_strict_mode(0)",
                "size = h.get_size()",
                "def expect(errno, fn):",
                "    try:",
                "        fn()",
                "    except nbd.Error as e:",
                "        assert e.errno == errno, (e.errno, errno, str(e))",
                "        return",
                "    raise AssertionError('no error, expected ' + errno)",
                "expect('EINVAL', lambda: h.pread(4096, size))",
                "expect('EINVAL', lambda: h.pread(8192, size - 4096))",
                "expect('EINVAL', lambda: h.pread((32 << 20) + 4096, 0))",
                "expect('ENOSPC', lambda: h.pwrite(b'x' * 4096, size - 1))",
                "expect('ENOSPC', lambda: h.zero(8192, size - 4096))",
                "expect('EINVAL', lambda: h.trim(8192, size))",
                "expect('EINVAL', lambda: h.pread(512, 0, nbd.CMD_FLAG_DF))",
                "assert h.pread(0, 0) == b''", // issue 12 D15: an empty OFFSET_DATA chunk made libnbd drop the handle
                "assert h.pread(0, size) == b''",
                "h.pwrite(b'\\x5a' * 4096, 4096, nbd.CMD_FLAG_FUA)",
                "assert h.pread(4096, 4096) == b'\\x5a' * 4096",
                "h.flush()",
                "print('all checks passed')");
        String out = Run.ok("env", "PATH=/usr/bin:/bin", HostTool.require("nbdsh", "libnbd-bin").toString(),
                "-u", uri, "-c", script).stdout();
        assertThat(out).contains("all checks passed");
    }

    @Test
    void nbdsh_readOnlyExport_refusesWritesWithEperm() throws IOException {
        Path roFile = dir.resolve("ro.img");
        Files.write(roFile, new byte[1 << 20]);
        try (FileImage roImage = FileImage.open(roFile, true);
             NbdServer roServer = NbdServer.start(NbdListen.unix(dir.resolve("ro.sock")),
                     new NbdExport("ro", "", roImage, true))) {
            String script = String.join("\n",
                    "h.set_strict_mode(0)",
                    "assert h.is_read_only()",
                    "for op in (lambda: h.pwrite(b'x' * 512, 0), lambda: h.trim(4096, 0), lambda: h.zero(4096, 0)):",
                    "    try:",
                    "        op()",
                    "        raise AssertionError('write succeeded on a read-only export')",
                    "    except nbd.Error as e:",
                    "        assert e.errno == 'EPERM', e.errno",
                    "print('refused')");
            String out = Run.ok("env", "PATH=/usr/bin:/bin", "nbdsh", "-u", roServer.endpoint().uri(), "-c", script).stdout();
            assertThat(out).contains("refused");
        }
        assertThat(Files.readAllBytes(roFile)).containsOnly(0);
    }

    @Test
    void loopbackTcp_servesTheSameExport() throws IOException {
        String nbdcopy = HostTool.require("nbdcopy", "libnbd-bin").toString();
        try (NbdServer tcp = NbdServer.start(NbdListen.tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), false),
                new NbdExport("disk", "", image, false))) {
            String tcpUri = tcp.endpoint().uri();
            assertThat(tcpUri).startsWith("nbd://127.0.0.1:");
            Path copy = dir.resolve("tcp-copy.img");
            Run.ok(nbdcopy, tcpUri, copy.toString());
            assertThat(Trees.sha256(copy)).isEqualTo(Trees.sha256(file));
        }
    }
}
