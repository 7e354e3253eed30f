package io.tmount.export;

import io.tmount.TmountException;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.mount.MountManagerConfig;
import io.tmount.nbd.NbdListen;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.HostTool;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.RawImages;
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
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Builds and raw files served over NBD without mounting, read and written by real clients. */
@ExtendWith(NoLeftovers.class)
class ExportsTest {

    @TempDir
    Path dir;

    private TemplateStore store;
    private TmountHost host;
    private BuildId build;
    private Path composed;

    @BeforeEach
    void start() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        build = new TemplateCatalog(store, dir.resolve("scratch")).create(TemplateId.of("t"), BuildId.of("b-1"),
                Trees.sample(dir.resolve("src"), 2), null);
        host = open();
        composed = RawImages.write(host.mounts().images().open(host.mounts().images().layout(build)),
                dir.resolve("composed.img"));
    }

    private TmountHost open() {
        return TmountHost.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)), dir.resolve("builds"));
    }

    @AfterEach
    void stop() throws IOException {
        host.close();
        store.close();
    }

    private ExportInfo exportBuild(Path socket, boolean readOnly, String name) {
        return host.exports().export(new ExportSource.Build(TemplateId.of("t"), build),
                new ExportOptions(NbdListen.unix(socket), readOnly, name));
    }

    @Test
    void aReadOnlyBuildExport_isReadExactly_byNbdcopyQemuImgAndNbdinfo() {
        ExportInfo info = exportBuild(dir.resolve("ro.sock"), true, null);
        assertThat(info.name()).isEqualTo("b-1");
        assertThat(info.uri()).isEqualTo("nbd+unix:///b-1?socket=" + dir.resolve("ro.sock"));
        assertThat(host.exports().list()).containsExactly(info);
        Path copy = dir.resolve("copy.img");
        Run.ok(HostTool.require("nbdcopy", "libnbd-bin").toString(), "--connections=4", info.uri(), copy.toString());
        assertThat(Trees.sha256(copy)).isEqualTo(Trees.sha256(composed));
        Run.ok(HostTool.require("qemu-img", "qemu-utils").toString(), "compare", "-f", "raw", "-F", "raw",
                composed.toString(), info.uri());
        assertThat(Run.ok("nbdinfo", info.uri()).stdout()).contains("is_read_only: true")
                .contains("template t build b-1");
        host.exports().unexport("b-1");
        assertThat(dir.resolve("ro.sock")).doesNotExist();
        assertThat(host.exports().list()).isEmpty();
    }

    @Test
    void anExportAskedForWhileTheHostCloses_isRefused_andNothingIsLeftServing() {
        host.close();
        assertThatThrownBy(() -> exportBuild(dir.resolve("late.sock"), true, "late"))
                .isInstanceOfSatisfying(TmountException.class,
                        e -> assertThat(e.kind()).isEqualTo(TmountException.Kind.UNAVAILABLE))
                .hasMessageContaining("shutting down");
        assertThat(dir.resolve("late.sock")).doesNotExist();
    }

    @Test
    void aCompressedBuild_isExportedExactlyAsThePlainOne() {
        BuildId zstd = new TemplateCatalog(store, dir.resolve("scratch")).create(TemplateId.of("t"), BuildId.of("z-1"),
                dir.resolve("src"), null,
                new io.tmount.image.WriteFormat(io.tmount.compress.Compression.ZSTD, 0, 0, null));
        ExportInfo info = host.exports().export(new ExportSource.Build(TemplateId.of("t"), zstd),
                new ExportOptions(NbdListen.unix(dir.resolve("z.sock")), true, null));
        Path copy = dir.resolve("z.img");
        Run.ok(HostTool.require("nbdcopy", "libnbd-bin").toString(), "--connections=4", info.uri(), copy.toString());
        // the same folder made into ext4 twice differs in its UUIDs and times: compare the files, via e2fsck and debugfs
        Run.ok("e2fsck", "-fn", copy.toString());
        assertThat(Run.ok("debugfs", "-R", "cat /etc/hostname", copy.toString()).stdout()).isEqualTo("template-2\n");
        assertThat(Run.ok("nbdinfo", "--map", info.uri()).stdout()).contains("data"); // frames report all data
        host.exports().unexport("z-1");
    }

    @Test
    void aWritableExport_keepsWritesInItsOverlay_andTheBuildNeverChanges() throws IOException {
        ExportInfo info = exportBuild(dir.resolve("rw.sock"), false, "scratch");
        assertThat(info.overlayPath()).isDirectory();
        String qemuIo = HostTool.require("qemu-io", "qemu-utils").toString();
        Run.ok(qemuIo, "-f", "raw", info.uri(), "-c", "write -P 0xab 1M 64k");
        assertThat(Run.ok(qemuIo, "-f", "raw", info.uri(), "-c", "read -P 0xab 1M 64k").stdout())
                .doesNotContain("fail");
        host.exports().unexport("scratch");
        assertThat(info.overlayPath()).doesNotExist();
        // a new export of the build starts from the build again
        ExportInfo again = exportBuild(dir.resolve("rw.sock"), true, null);
        Run.ok(HostTool.require("qemu-img", "qemu-utils").toString(), "compare", "-f", "raw", "-F", "raw",
                composed.toString(), again.uri());
    }

    @Test
    void aRawFile_isServedOverLoopbackTcp_andAnythingElseIsRefusedUnlessForced() throws IOException {
        ExportInfo info = host.exports().export(new ExportSource.RawFile(composed),
                new ExportOptions(NbdListen.tcp(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), false),
                        true, null));
        assertThat(info.uri()).startsWith("nbd://127.0.0.1:").endsWith("/composed.img");
        assertThat(info.image()).isEqualTo(composed);
        Path copy = dir.resolve("copy.img");
        Run.ok(HostTool.require("nbdcopy", "libnbd-bin").toString(), info.uri(), copy.toString());
        assertThat(Trees.sha256(copy)).isEqualTo(Trees.sha256(composed));
        assertThatThrownBy(() -> NbdListen.tcp(new InetSocketAddress("0.0.0.0", 10809), false))
                .hasMessageContaining("only loopback addresses");
    }

    @Test
    void namesAndSocketsAreChecked() throws IOException {
        exportBuild(dir.resolve("a.sock"), true, "same");
        assertThatThrownBy(() -> exportBuild(dir.resolve("b.sock"), true, "same"))
                .hasMessageContaining("an export named 'same' already exists");
        assertThatThrownBy(() -> exportBuild(dir.resolve("a.sock"), true, "other"))
                .hasMessageContaining("already listens on " + dir.resolve("a.sock"));
        Path precious = Files.writeString(dir.resolve("precious.txt"), "keep me");
        assertThatThrownBy(() -> exportBuild(precious, true, "third")).hasMessageContaining("is not a socket");
        assertThat(precious).hasContent("keep me");
        assertThatThrownBy(() -> host.exports().export(new ExportSource.Build(TemplateId.of("t"), BuildId.of("missing")),
                new ExportOptions(NbdListen.unix(dir.resolve("m.sock")), true, null)))
                .isInstanceOf(TmountException.class).hasMessageContaining("build 'missing' of template 't' not found");
        assertThat(dir.resolve("m.sock")).doesNotExist();
        assertThatThrownBy(() -> host.exports().unexport("nope")).hasMessageContaining("no export named 'nope' (exports: same)");
    }

    @Test
    void exportsEndWithTheManager_andLeftoversOfACrashAreRemoved() throws IOException {
        exportBuild(dir.resolve("gone.sock"), false, null);
        host.close();
        assertThat(dir.resolve("gone.sock")).doesNotExist();
        // what a killed process leaves: its export folder and a socket file nobody listens on
        Path left = Files.createDirectories(dir.resolve("state/exports/abcdef123456/overlay"));
        Path staleSocket = dir.resolve("stale.sock");
        try (var channel = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            channel.bind(java.net.UnixDomainSocketAddress.of(staleSocket));
        }
        Files.writeString(left.getParent().resolve("socket"), staleSocket.toString());
        host = open();
        assertThat(left.getParent()).doesNotExist();
        assertThat(staleSocket).doesNotExist();
    }

    @Test
    void foldersMadeForASocket_goWithTheExport_butFoldersInUseStay() throws IOException {
        // issue 12 D19: the folders made for an export's socket were left behind by unexport
        Path existing = Files.createDirectories(dir.resolve("sockets"));
        exportBuild(existing.resolve("a/b/one.sock"), true, "one");
        exportBuild(existing.resolve("a/c/two.sock"), true, "two");
        host.exports().unexport("one");
        assertThat(existing.resolve("a/b")).doesNotExist();
        assertThat(existing.resolve("a/c/two.sock")).exists(); // "a" is the other export's too
        host.exports().unexport("two");
        assertThat(existing.resolve("a")).doesNotExist();
        assertThat(existing).isDirectory(); // not made by an export

        // after a crash, recovery removes the folders the dead export made
        Path left = Files.createDirectories(dir.resolve("state/exports/0123456789ab"));
        Path madeByIt = Files.createDirectories(existing.resolve("x/y"));
        Files.writeString(left.resolve("socket"), madeByIt.resolve("s.sock").toString());
        Files.writeString(left.resolve("socket-folders"), madeByIt + "\n" + madeByIt.getParent() + "\n");
        host.close();
        host = open();
        assertThat(existing.resolve("x")).doesNotExist();
        assertThat(existing).isDirectory();
    }
}
