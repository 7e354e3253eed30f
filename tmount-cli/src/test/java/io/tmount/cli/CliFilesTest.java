package io.tmount.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.daemon.Daemon;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.mount.MountManagerConfig;
import io.tmount.mount.MountOptions;
import io.tmount.os.Folders;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.testing.HostState;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The file commands (ls, cat, cp, tar, run, diff, manifest) on a real layered build of an odd tree: names with
 * spaces, newlines, backslashes and non-UTF-8 bytes, hard links, a sparse file, device nodes, a fifo, a setuid file,
 * extended attributes, a chain of 12 links and links pointing outside the root. What they print is checked against
 * independent walks of the same trees on the host (Python: {@code walk_manifest.py}, {@code tree_diff.py}).
 */
@ExtendWith(NoLeftovers.class)
class CliFilesTest {

    private static final String SCRIPTS = "src/test/resources/files/";

    @TempDir
    static Path shared;

    /** The odd tree, and the same tree with the child build's changes made on the host. */
    private static Path treeA;
    private static Path treeB;
    private static String base;
    private static final String CHILD = "6c6b0a3e-5f0e-4c7e-9d4c-1f0a8e2b7c11";

    @TempDir
    Path dir;

    private CliRunner cli;

    @BeforeAll
    static void layeredBuild() throws IOException {
        treeA = shared.resolve("tree-a");
        Run.ok("python3", SCRIPTS + "make_tree.py", treeA.toString());
        treeB = shared.resolve("tree-b");
        Run.ok("cp", "-a", treeA.toString(), treeB.toString());
        mutate(treeB);
        CliRunner setup = new CliRunner(shared);
        CliRunner.Result created = setup.run("template", "create", "--template", "odd", "--from-dir", treeA.toString());
        assertThat(created.status()).as(created.err()).isZero();
        base = created.out().strip();
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(shared.resolve("store")).open());
             TmountHost host = TmountHost.open(new MountManagerConfig(shared.resolve("state"), shared.resolve("run"),
                     store, Attachers.onThisHost(4), Duration.ofMillis(500)), shared.resolve("builds"))) {
            Path mnt = shared.resolve("mnt");
            host.mounts().mountTemplate(TemplateId.of("odd"), BuildId.of(base), mnt, MountOptions.defaults());
            try {
                mutate(mnt);
                host.mounts().commit(mnt, BuildId.of(CHILD));
            } finally {
                host.mounts().unmountTemplate(mnt);
            }
        }
    }

    /** The child's changes: added, changed (same size too), deleted, renamed, mode, owner, link, type, xattr. */
    private static void mutate(Path root) throws IOException {
        Files.writeString(root.resolve("data/added.txt"), "added\n");
        Files.writeString(root.resolve("etc/hostname"), "child\n");
        UserDefinedFileAttributeView attributes = Files.getFileAttributeView(root.resolve("etc/hostname"),
                UserDefinedFileAttributeView.class);
        attributes.write("tmount", StandardCharsets.UTF_8.encode("changed"));
        Files.delete(root.resolve("data/with space"));
        Files.delete(root.resolve("data/new\nline"));
        Files.move(root.resolve("etc/os-release"), root.resolve("etc/os-release.renamed"));
        Files.setPosixFilePermissions(root.resolve("data/h1"), PosixFilePermissions.fromString("rw-------"));
        Run.ok("chown", "1000:1000", root.resolve("etc").toString());
        Files.delete(root.resolve("links/l12"));
        Files.createSymbolicLink(root.resolve("links/l12"), Path.of("/etc/os-release.renamed"));
        Files.delete(root.resolve("data/fifo"));
        Files.writeString(root.resolve("data/fifo"), "now a file\n");
        try (FileChannel big = FileChannel.open(root.resolve("data/big"), StandardOpenOption.WRITE)) {
            byte[] block = new byte[4096];
            Arrays.fill(block, (byte) 7);
            big.write(ByteBuffer.wrap(block), 1 << 20);
        }
        Files.createDirectories(root.resolve("newdir/sub"));
        Files.writeString(root.resolve("newdir/sub/f"), "new\n");
    }

    @BeforeEach
    void environment() {
        cli = new CliRunner(dir);
        cli.env.put("TEMPLATE_STORAGE_URL", "file://" + shared.resolve("store"));
    }

    private CliRunner.Result tmount(String... args) {
        return cli.run(args);
    }

    private CliRunner.Result ok(String... args) {
        CliRunner.Result result = cli.run(args);
        assertThat(result.status()).as(String.join(" ", args) + ": " + result.err()).isZero();
        return result;
    }

    @Test
    void lsAndCat_showOddNamesEscaped_andResolveLinksInsideTheBuild() throws IOException {
        assertThat(ok("ls", "odd", base).out()).isEqualTo("data\ndeep\netc\nlinks\nlost+found\ntmp\n");
        assertThat(ok("ls", "odd", base, "/data").out().lines().toList()).containsExactly("back\\\\slash",
                "bad\\xff\\xfename", "big", "café ü", "fifo", "h1", "h2", "loop0", "new\\nline", "null", "setuid",
                "sparse", "with space");
        String longListing = ok("ls", "odd", base, "/data", "-l").out();
        assertThat(longListing).containsPattern("(?m)^-rwsr-xr-x +1 +1234 +5678 +10 .* setuid$")
                .containsPattern("(?m)^crw-r--r-- .* 1, 3 .* null$").containsPattern("(?m)^brw-r----- .* 7, 0 .* loop0$")
                .containsPattern("(?m)^prw-r--r-- .* fifo$").containsPattern("(?m)^-rw-r--r-- +2 .* h1$");
        assertThat(ok("ls", "odd", base, "/links", "-l").out()).contains("l1 -> l2\n")
                .contains("l12 -> /etc/hostname\n").contains("escape -> ../../../../../../../etc\n");
        JsonNode all = new ObjectMapper().readTree(ok("ls", "odd", base, "-R", "--json").out());
        long hostEntries = Run.ok("python3", SCRIPTS + "walk_manifest.py", treeA.toString()).stdout().lines().count();
        assertThat(all.size()).isEqualTo(hostEntries - 1 + 1); // the host tree's entries but its root, plus lost+found
        assertThat(all.findValuesAsText("path")).contains("/data/new\\nline", "/etc/hostname",
                "/deep/d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/d13/d14/d15/d16/d17/d18/d19/d20/d21/d22/d23/d24/d25"
                        + "/d26/d27/d28/d29/d30/d31/d32/d33/d34/d35/d36/d37/d38/d39/leaf");
        JsonNode hostname = Stream.of(all).flatMap(a -> java.util.stream.StreamSupport.stream(a.spliterator(), false))
                .filter(e -> e.path("path").asText().equals("/etc/hostname")).findFirst().orElseThrow();
        assertThat(hostname.path("xattrs").toString()).isEqualTo("[\"user.tmount\"]");
        // the PATH argument itself (the start of the walk, read through /proc/self/fd/N) has its attributes too
        assertThat(new ObjectMapper().readTree(ok("ls", "odd", base, "/etc/hostname", "--json").out()).get(0)
                .path("xattrs").toString()).isEqualTo("[\"user.tmount\"]");

        // a chain of 12 links ending in an absolute link, all inside the build
        assertThat(ok("cat", "odd", base, "/links/l1").out()).isEqualTo("base\n");
        assertThat(ok("cat", "odd", CHILD, "/links/l1").out()).isEqualTo("NAME=odd\n");
        // links out of the root land on the build's root, never the host's
        assertThat(ok("cat", "odd", base, "/links/escape/os-release").out()).isEqualTo("NAME=odd\n");
        assertThat(ok("cat", "odd", base, "/links/absolute/hostname").out()).isEqualTo("base\n");
        assertThat(Path.of("/etc/passwd")).exists();
        assertThat(tmount("cat", "odd", base, "/links/escape/passwd").err())
                .isEqualTo("tmount: /links/escape/passwd in the build: No such file or directory\n");
        assertThat(tmount("cat", "odd", base, "/links/absolute/passwd").status()).isEqualTo(1);
        assertThat(tmount("cat", "odd", base, "/links/dangling").err()).contains("No such file or directory");
        assertThat(tmount("cat", "odd", base, "/data").err())
                .isEqualTo("tmount: /data in the build is a dir, not a file\n");
        assertThat(tmount("cat", "odd", base, "/data/fifo").err()).contains("is a fifo, not a file");
        byte[] big = ok("cat", "odd", base, "/data/big").bytes();
        assertThat(big).isEqualTo(Files.readAllBytes(treeA.resolve("data/big")));
        assertThat(tmount("ls", "odd", "no-such-build").err()).contains("no-such-build");
        assertThat(Files.list(dir.resolve("run-files")).toList()).isEmpty();
    }

    @Test
    void manifest_isWhatAnIndependentWalkOfTheSourceSays_inBothFilesystemModes() {
        String expected = Run.ok("python3", SCRIPTS + "walk_manifest.py", treeA.toString(), "lost+found").stdout();
        for (String fs : List.of("kernel", "userspace")) {
            String manifest = ok("manifest", "odd", base, "--fs", fs).out();
            assertThat(withoutLostAndFound(manifest)).as(fs).isEqualTo(expected);
        }
        String expectedB = Run.ok("python3", SCRIPTS + "walk_manifest.py", treeB.toString(), "lost+found").stdout();
        assertThat(withoutLostAndFound(ok("manifest", "odd", CHILD).out())).isEqualTo(expectedB);
        assertThat(ok("manifest", "odd", base, "/etc", "--hash", "none", "--times").out())
                .startsWith("./etc type=dir mode=0755 uid=0 gid=0 time=")
                .contains("./etc/hostname type=file mode=0644 uid=0 gid=0 size=5 time=").doesNotContain("sha256");
    }

    private static String withoutLostAndFound(String manifest) {
        StringBuilder kept = new StringBuilder();
        manifest.lines().filter(l -> !l.startsWith("./lost+found ")).forEach(l -> kept.append(l).append('\n'));
        return kept.toString();
    }

    @Test
    void diff_isWhatAnIndependentDiffOfTheTreesSays_provenFromTheHeadersOrReadInFull() throws IOException {
        List<String> expected = Run.ok("python3", SCRIPTS + "tree_diff.py", treeA.toString(), treeB.toString(),
                "lost+found").stdout().lines().map(CliFilesTest::normalized).sorted().toList();
        assertThat(expected).contains("added /newdir/sub/f []", "removed /data/new\\nline []",
                "changed /data/big [content]", "changed /data/fifo [type]", "changed /etc/hostname [content, xattrs]",
                "changed /etc [owner]", "changed /data/h2 [mode]", "changed /links/l12 [target]");
        for (List<String> options : List.of(List.<String>of(), List.of("--full"), List.of("--fs", "userspace"))) {
            List<String> args = new ArrayList<>(List.of("diff", "odd", base, CHILD, "--json", "--stats"));
            args.addAll(options);
            CliRunner.Result result = ok(args.toArray(String[]::new));
            List<String> changes = new ArrayList<>();
            for (JsonNode change : new ObjectMapper().readTree(result.out())) {
                changes.add(normalized(change.toString()));
            }
            assertThat(changes.stream().sorted().toList()).as("%s", options).isEqualTo(expected);
            if (options.isEmpty()) { // kernel ext4 reports extents: unchanged files are proven so from the headers
                assertThat(result.err()).containsPattern("1 files read in full .* 8 proven unchanged by the headers");
            } else {
                assertThat(result.err()).containsPattern(" 9 files read in full .* 0 proven unchanged");
            }
        }
        assertThat(ok("diff", "odd", base, CHILD, "/etc").out()).isEqualTo("""
                M /etc  owner 0:0 -> 1000:1000
                M /etc/hostname  content (size 5 -> 6), xattrs
                - /etc/os-release
                + /etc/os-release.renamed
                """);
        assertThat(ok("diff", "odd", base, base).out()).isEmpty();
    }

    /** A change as "KIND PATH [WHAT]", from tree_diff.py's or tmount's JSON. */
    private static String normalized(String json) {
        try {
            JsonNode change = new ObjectMapper().readTree(json);
            List<String> what = new ArrayList<>();
            change.path("what").forEach(w -> what.add(w.asText()));
            return change.path("change").asText() + " " + change.path("path").asText() + " " + what;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void cpOutAndTar_keepOwnersModesLinksDevicesHolesAndXattrs() throws IOException {
        String expected = Run.ok("python3", SCRIPTS + "walk_manifest.py", treeA.toString()).stdout();
        Path copy = dir.resolve("copy");
        ok("cp", "odd", base + ":/", copy.toString());
        Files.delete(copy.resolve("lost+found"));
        assertThat(Run.ok("python3", SCRIPTS + "walk_manifest.py", copy.toString()).stdout()).isEqualTo(expected);
        assertThat(Long.parseLong(Run.ok("stat", "-c", "%b", copy.resolve("data/sparse").toString()).stdout().strip()))
                .as("512-byte blocks of the 64 MiB sparse file").isLessThan(1024);

        // a link already at the destination is replaced, never written through
        Path outside = dir.resolve("outside.txt");
        Files.writeString(outside, "keep\n");
        Files.createSymbolicLink(dir.resolve("hostname-link"), outside);
        ok("cp", "odd", base + ":/etc/hostname", dir.resolve("hostname-link").toString());
        assertThat(Files.readString(outside)).isEqualTo("keep\n");
        assertThat(Files.readString(dir.resolve("hostname-link"))).isEqualTo("base\n");
        assertThat(Files.isSymbolicLink(dir.resolve("hostname-link"))).isFalse();
        ok("cp", "odd", base + ":/links/l1", dir.resolve("one-link").toString());
        assertThat(Files.readSymbolicLink(dir.resolve("one-link"))).isEqualTo(Path.of("l2"));
        ok("cp", "odd", base + ":links/escape/hostname", dir.resolve("hostname").toString());
        assertThat(Files.readString(dir.resolve("hostname"))).isEqualTo("base\n");
        assertThat(tmount("cp", "odd", base + ":/nope", dir.resolve("x").toString()).err())
                .contains("/nope in the build: No such file or directory");

        Path archive = dir.resolve("tree.tar");
        ok("tar", "odd", base, "-o", archive.toString());
        Path extracted = dir.resolve("extracted");
        Files.createDirectories(extracted);
        Run.ok("tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", archive.toString(), "-C",
                extracted.toString());
        Files.delete(extracted.resolve("lost+found"));
        assertThat(Run.ok("python3", SCRIPTS + "walk_manifest.py", extracted.toString()).stdout()).isEqualTo(expected);

        byte[] streamed = ok("tar", "odd", base, "/etc", "-o", "-").bytes();
        Files.write(dir.resolve("etc.tar"), streamed);
        assertThat(Run.ok("tar", "-tf", dir.resolve("etc.tar").toString()).stdout())
                .isEqualTo("./\n./hostname\n./os-release\n");
        assertThat(tmount("tar", "odd", base, "/nope", "-o", dir.resolve("no.tar").toString()).status()).isEqualTo(1);
        assertThat(dir.resolve("no.tar")).doesNotExist();
    }

    @Test
    void run_givesTheCommandTheRootReadOnly_andItsExitStatus() {
        CliRunner.Result result = tmount("run", "odd", base, "--", "sh", "-c",
                "cat etc/hostname; test \"$TMOUNT_ROOT\" = \"$PWD\" && echo root-ok; touch x 2>/dev/null; exit 3");
        assertThat(result.status()).isEqualTo(3);
        assertThat(result.out()).isEqualTo("base\nroot-ok\n");
        assertThat(ok("run", "odd", CHILD, "--", "cat", "etc/os-release.renamed").out()).isEqualTo("NAME=odd\n");
    }

    @Test
    void cpIn_storesALayeredBuild_andNeverWritesThroughTheBuildsLinks() throws IOException {
        Path host = dir.resolve("host-side");
        Files.createDirectories(host);
        Files.writeString(host.resolve("target"), "host file\n");
        Path hostile = dir.resolve("hostile");
        Files.createDirectories(hostile.resolve("etc"));
        Files.createSymbolicLink(hostile.resolve("etc/evil"), host);
        Files.createSymbolicLink(hostile.resolve("etc/evilfile"), host.resolve("target"));
        String build = ok("template", "create", "--template", "odd", "--from-dir", hostile.toString()).out().strip();

        Path evil = dir.resolve("in/evil");
        Files.createDirectories(evil);
        Files.writeString(evil.resolve("dropped"), "x\n");
        CliRunner.Result refused = tmount("cp", evil.toString(), "odd", build + ":/etc", "--build",
                "0e4f3f5a-0000-4000-8000-000000000001");
        assertThat(refused.status()).isEqualTo(1);
        assertThat(refused.err()).contains("cannot overwrite non-directory '/etc/evil' with directory");
        Path evilFile = dir.resolve("in/evilfile");
        Files.writeString(evilFile, "copied in\n");
        String child = ok("cp", evilFile.toString(), "odd", build + ":/etc/", "--build",
                "0e4f3f5a-0000-4000-8000-000000000002").out().strip();
        assertThat(child).isEqualTo("0e4f3f5a-0000-4000-8000-000000000002");
        try (Stream<Path> left = Files.list(host)) {
            assertThat(left.map(p -> p.getFileName().toString()).toList()).containsExactly("target");
        }
        assertThat(Files.readString(host.resolve("target"))).isEqualTo("host file\n");
        assertThat(ok("cat", "odd", child, "/etc/evilfile").out()).isEqualTo("copied in\n");
        assertThat(ok("inspect", child).out()).contains("parent      " + build).contains("generation 1");

        // into a new name, a folder with its tree
        String tree = ok("cp", dir.resolve("in").toString(), "odd", child + ":/etc/app", "--build",
                "0e4f3f5a-0000-4000-8000-000000000003").out().strip();
        assertThat(ok("ls", "odd", tree, "/etc/app", "-R").out()).isEqualTo("/etc/app/evil\n/etc/app/evil/dropped\n"
                + "/etc/app/evilfile\n");
        assertThat(tmount("cp", evilFile.toString(), "odd", build + ":/no/such/dir/x").err())
                .contains("/no/such/dir in the build: No such file or directory");
    }

    @Test
    void throughARunningDaemon_theMountsAreTheDaemonsAndGoAway() throws IOException {
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(shared.resolve("store")).open());
             Daemon daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"),
                     dir.resolve("run"), store, Attachers.onThisHost(4), Duration.ofMillis(500)),
                     dir.resolve("builds")), dir.resolve("run/tmount.sock"), "test", "s")) {
            assertThat(ok("cat", "odd", CHILD, "/etc/hostname").out()).isEqualTo("child\n");
            assertThat(ok("diff", "odd", base, CHILD, "/data", "--stats").err()).contains("proven unchanged");
            assertThat(ok("list").out()).isEqualTo("no mounts\n");
            assertThat(ok("cache").out()).contains(CHILD); // the daemon's cache served it
        }
    }

    @Test
    void sigintMidCp_leavesNothing_andAKilledCommandIsCleanedUpByTheNext() throws Exception {
        Path source = dir.resolve("large");
        Files.createDirectories(source);
        byte[] block = new byte[1 << 20];
        new java.util.Random(9).nextBytes(block);
        try (var out = Files.newOutputStream(source.resolve("large.bin"))) {
            for (int i = 0; i < 256; i++) {
                block[0] = (byte) i;
                out.write(block);
            }
        }
        String large = ok("template", "create", "--template", "large", "--from-dir", source.toString()).out().strip();
        for (String signal : List.of("INT", "KILL")) {
            Path dest = dir.resolve("dest-" + signal);
            Process cli = null;
            long cp = -1;
            try {
                // the copy can end before SIGSTOP lands (a zombie takes the signal): then copy again, cold or not
                for (int attempt = 0; cp < 0; attempt++) {
                    assertThat(attempt).as("cp finished before it could be stopped, 5 times").isLessThan(5);
                    if (cli != null) {
                        assertThat(cli.waitFor(90, TimeUnit.SECONDS)).isTrue();
                        assertThat(cli.exitValue()).as(Files.readString(dir.resolve("cli.log"))).isZero();
                        Folders.deleteTree(dest);
                    }
                    cli = javaCli("cp", "large", large + ":/large.bin", dest.toString());
                    cp = stopMidCopy(awaitChild(cli, "cp"));
                }
                Run.ok("kill", "-" + signal, Long.toString(cli.pid()));
                if (signal.equals("INT")) {
                    Thread.sleep(500); // the signal handler has sent cp its SIGTERM, pending while it is stopped
                    Run.ok("kill", "-CONT", Long.toString(cp));
                } else {
                    assertThat(cli.waitFor(30, TimeUnit.SECONDS)).isTrue();
                    Run.ok("kill", "-KILL", Long.toString(cp)); // the orphan, so the killed session's mounts are idle
                }
                assertThat(cli.waitFor(90, TimeUnit.SECONDS)).isTrue();
            } finally {
                if (cli != null) {
                    cli.destroyForcibly();
                }
            }
            if (signal.equals("INT")) {
                assertThat(cli.exitValue()).as(Files.readString(dir.resolve("cli.log"))).isEqualTo(130);
                assertThat(Files.list(dir.resolve("run-files")).toList()).isEmpty();
            } else {
                assertThat(Files.list(dir.resolve("run-files")).toList()).hasSize(1);
                ok("ls", "odd", base, "/etc"); // finds the killed command's session and takes it apart
                assertThat(Files.list(dir.resolve("run-files")).toList()).isEmpty();
            }
            assertThat(HostState.snapshot().stream().filter(s -> s.contains(dir.toString())).toList()).isEmpty();
            assertThat(Run.any("findmnt", "-rn", "-o", "TARGET").stdout()).doesNotContain(dir.toString());
        }
    }

    private Process javaCli(String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "io.tmount.cli.Main", "--state-dir",
                dir.resolve("state").toString(), "--runtime-dir", dir.resolve("run").toString(), "--store",
                "file://" + shared.resolve("store")));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("cli.log").toFile())
                .start();
    }

    /** Stops {@code pid} with SIGSTOP and returns it once stopped, or -1 if it had already ended. */
    private static long stopMidCopy(long pid) throws Exception {
        if (Run.any("kill", "-STOP", Long.toString(pid)).exitCode() != 0) {
            return -1;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) { // a read in the kernel finishes before the stop takes hold
            String stat;
            try {
                stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            } catch (java.nio.file.NoSuchFileException gone) {
                return -1;
            }
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            if (state == 'T') {
                return pid;
            }
            if (state == 'Z' || state == 'X') {
                return -1;
            }
            Thread.sleep(2);
        }
        throw new AssertionError("cp " + pid + " did not stop");
    }

    private long awaitChild(Process process, String name) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            var child = process.descendants().filter(p -> p.info().command().orElse("").endsWith("/" + name))
                    .findFirst();
            if (child.isPresent()) {
                return child.get().pid();
            }
            assertThat(process.isAlive()).as(Files.readString(dir.resolve("cli.log"))).isTrue();
            Thread.sleep(5);
        }
        throw new AssertionError("no " + name + " started: " + Files.readString(dir.resolve("cli.log")));
    }
}
