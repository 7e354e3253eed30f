package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.device.Attachers;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue 12 §5 through a whole mount: the state dir on a small filesystem that fills up. A writer into the mount gets
 * an error, not a hang; the manager goes on; a commit fails cleanly (no build in the store) and, once there is room
 * again, the retried commit stores the mount's changes.
 */
@ExtendWith(NoLeftovers.class)
class FullStateDiskTest {

    private static final TemplateId TEMPLATE = TemplateId.of("t");

    @TempDir
    Path dir;

    private Path small;

    @BeforeEach
    void smallDisk() throws IOException {
        Path image = dir.resolve("small.img");
        Run.ok("truncate", "-s", "64M", image.toString());
        Run.ok("mkfs.ext4", "-q", "-m", "0", image.toString()); // no reserved blocks: root would write into them
        small = Files.createDirectories(dir.resolve("small"));
        Run.ok("mount", "-o", "loop", image.toString(), small.toString());
    }

    @AfterEach
    void unmount() {
        Run.ok("umount", small.toString());
    }

    @Test
    void aFullStateDisk_failsTheWriterNotTheDaemon_andTheCommitWorksOnceThereIsRoom() throws Exception {
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open())) {
            BuildId build = new TemplateCatalog(store, dir.resolve("scratch"))
                    .create(TEMPLATE, null, Trees.sample(dir.resolve("src"), 2), io.tmount.ByteSize.parse("96M"));
            try (MountManager manager = MountManager.open(new MountManagerConfig(small.resolve("state"),
                    dir.resolve("run"), store, Attachers.onThisHost(4), Duration.ofMillis(500)))) {
                Path mnt = dir.resolve("mnt");
                manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());
                Files.writeString(mnt.resolve("before.txt"), "written while there was room\n");
                Run.ok("sync", "-f", mnt.resolve("before.txt").toString());
                Path filler = small.resolve("filler");
                fill(filler);

                // 40 MiB into the mount: its overlay cannot take them; the writer gets an error within a minute
                Process writer = new ProcessBuilder("sh", "-c", "dd if=/dev/urandom of=" + mnt.resolve("big.bin")
                        + " bs=1M count=40 conv=fsync").redirectErrorStream(true).start();
                assertThat(writer.waitFor(60, TimeUnit.SECONDS)).as("the writer hangs").isTrue();
                assertThat(writer.exitValue()).as(new String(writer.getInputStream().readAllBytes())).isNotZero();
                assertThat(manager.listMounts()).extracting(MountInfo::mountPath).containsExactly(mnt);

                BuildId first = BuildId.random();
                assertThatThrownBy(() -> manager.commit(mnt, first)).isInstanceOf(TmountException.class)
                        .hasMessageContaining("No space left on device");
                assertThat(store.exists(first)).isFalse();
                assertThat(dir.resolve("store").resolve(first.value())).doesNotExist();

                // room again: the commit goes through; the device failed writes, so at block level, with a warning
                Files.delete(filler);
                CommitResult again = manager.commit(mnt, first);
                assertThat(again.changed()).isTrue();
                assertThat(again.warning()).contains("could not write back its changes");
                assertThat(store.exists(first)).isTrue();
                manager.unmountTemplate(mnt);

                Path check = dir.resolve("check");
                // writable: the fsynced write may be in the journal only, which a writable mount replays
                manager.mountTemplate(TEMPLATE, first, check, MountOptions.defaults());
                assertThat(check.resolve("before.txt")).hasContent("written while there was room");
                manager.unmountTemplate(check);
            }
        }
    }

    private static void fill(Path file) throws IOException {
        byte[] block = new byte[64 * 1024];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
        }
    }
}
