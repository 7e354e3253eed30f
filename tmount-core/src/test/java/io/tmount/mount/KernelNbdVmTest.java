package io.tmount.mount;

import io.tmount.ByteSize;
import io.tmount.image.BuildImages;
import io.tmount.image.CacheBudget;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.HostTool;
import io.tmount.testing.RawImages;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * tmount's kernel-nbd path against Linux's own nbd driver: Debian's kernel booted under qemu's TCG emulation
 * (scripts/vm-kernel-nbd), running {@link GuestKernelNbdChecks} in the guest with the host's root shared read-only
 * and this test's folder read-write. The guest's console log is kept in target/vm-console.log.
 */
class KernelNbdVmTest {

    /** Operations of the guest's stress check: a few in the test command, {@code -Dtmount.vm.stress.ops=N} for more. */
    private static final int STRESS_OPS = Integer.getInteger("tmount.vm.stress.ops", 24);

    @TempDir
    Path dir;

    @Test
    void theKernelNbdPath_worksAgainstTheRealDriver() throws Exception {
        Path storeDir = dir.resolve("store");
        Path source = Trees.sample(dir.resolve("src"), 7);
        BuildId build;
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open())) {
            // compressed, so the guest also proves the codecs on an old CPU model (no AVX under TCG)
            build = new TemplateCatalog(store, dir.resolve("scratch")).create(TemplateId.of("vm"), BuildId.of("vm-base"),
                    source, ByteSize.parse("48M"), new io.tmount.image.WriteFormat(io.tmount.compress.Compression.ZSTD,
                            0, 0, null));
        }
        Properties expected = new Properties();
        expected.putAll(Trees.checksums(source));
        try (var out = Files.newBufferedWriter(dir.resolve("expected.properties"))) {
            expected.store(out, null);
        }
        String java = ProcessHandle.current().info().command().orElseThrow();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Files.writeString(dir.resolve("guest.sh"), String.join("\n",
                "mkdir -p /run/tmp",
                "exec " + java + " -XX:-UsePerfData -XX:TieredStopAtLevel=1 --enable-native-access=ALL-UNNAMED"
                        + " -Djava.io.tmpdir=/run/tmp -cp '" + classpath + "' " + GuestKernelNbdChecks.class.getName()
                        + " " + storeDir + " vm " + build + " " + dir.resolve("expected.properties") + " " + STRESS_OPS,
                ""));

        Path script = Path.of("../scripts/vm-kernel-nbd").toAbsolutePath().normalize();
        long start = System.nanoTime();
        ProcessBuilder harness = new ProcessBuilder("bash", script.toString(), dir.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("harness.log").toFile());
        // the guest ran 193 s of a 240 s budget on a slow day here (everything emulated): leave room
        harness.environment().put("VM_TIMEOUT", Integer.toString(420 + STRESS_OPS * 6));
        harness.environment().put("VM_NBDS_MAX", "8"); // the pool of 8 of the stress check
        Process vm = harness.start();
        boolean finished = vm.waitFor(8 + STRESS_OPS / 10, TimeUnit.MINUTES);
        if (!finished) {
            vm.descendants().forEach(ProcessHandle::destroyForcibly); // qemu under timeout(1)
            vm.destroyForcibly().waitFor();
        }
        String console = Files.exists(dir.resolve("console.log")) ? Files.readString(dir.resolve("console.log")) : "";
        List<String> checks = console.lines().filter(l -> l.startsWith("CHECK ")).toList();
        System.out.println("kernel-nbd VM checks (" + Duration.ofNanos(System.nanoTime() - start).toSeconds() + " s):");
        console.lines().filter(l -> l.startsWith("CHECK ") || l.startsWith("GUEST "))
                .forEach(c -> System.out.println("  " + c));
        boolean passed = finished && vm.exitValue() == 0 && checks.size() == 9
                && checks.stream().allMatch(c -> c.contains(": PASS"));
        Path kept = Path.of("target/vm-console.log").toAbsolutePath();
        if (Files.exists(dir.resolve("console.log"))) {
            Files.copy(dir.resolve("console.log"), kept, StandardCopyOption.REPLACE_EXISTING);
            System.out.println("the guest's console is kept in " + kept);
        }
        assertThat(passed).as("VM harness: %s%nchecks:%n%s%nharness log:%n%s", finished ? "exit " + vm.exitValue()
                : "timed out", String.join("\n", checks), Files.readString(dir.resolve("harness.log"))).isTrue();
        // the guest's commit landed in the host's store, as a layer on the base holding the guest's write
        BuildId committed = BuildId.of("committed-in-guest");
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open());
             BuildImages images = new BuildImages(store, dir.resolve("cache"), 1 << 20, new CacheBudget(1L << 30))) {
            assertThat(store.metadata(committed).orElseThrow().parentBuildId()).isEqualTo(build);
            assertThat(storeDir.resolve("committed-in-guest/rootfs.ext4.lz4")).exists(); // the guest wrote it in LZ4
            Path composed = RawImages.write(images.open(images.layout(committed)), dir.resolve("composed.img"));
            Run.ok(HostTool.require("e2fsck", "e2fsprogs").toString(), "-fn", composed.toString());
            assertThat(Run.ok("debugfs", "-R", "cat /written-in-the-guest.txt", composed.toString()).stdout())
                    .isEqualTo("written through /dev/nbd in an emulated VM\n");
        }
    }
}
