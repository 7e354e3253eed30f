package io.tmount.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LocalObjectStoreTest {

    @TempDir
    Path dir;

    private LocalObjectStore store() {
        return new LocalObjectStore(dir.resolve("store"));
    }

    @Test
    void putGetSizeExistsDelete() throws IOException {
        LocalObjectStore store = store();
        store.put("b1/metadata.json", "{}".getBytes(StandardCharsets.UTF_8));
        assertThat(store.exists("b1/metadata.json")).isTrue();
        assertThat(store.size("b1/metadata.json")).isEqualTo(2);
        assertThat(store.get("b1/metadata.json")).isEqualTo("{}".getBytes(StandardCharsets.UTF_8));
        assertThat(store.folders()).containsExactly("b1");
        store.delete("b1/metadata.json");
        assertThat(store.exists("b1/metadata.json")).isFalse();
        assertThat(store.folders()).isEmpty(); // the emptied build folder goes too
    }

    @Test
    void createOnlyWrites_neverReplaceAnObject_andLeaveNoPartFiles() throws IOException {
        LocalObjectStore store = store();
        store.create("b1/metadata.json", "first".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> store.create("b1/metadata.json", "second".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ObjectExistsException.class).hasMessageContaining("b1/metadata.json");
        Path source = Files.write(dir.resolve("img"), new byte[]{1, 2, 3});
        assertThatThrownBy(() -> store.create("b1/metadata.json", source)).isInstanceOf(ObjectExistsException.class);
        assertThat(store.get("b1/metadata.json")).asString(StandardCharsets.UTF_8).isEqualTo("first");
        try (var files = Files.list(dir.resolve("store/b1"))) {
            assertThat(files).extracting(p -> p.getFileName().toString()).containsExactly("metadata.json");
        }
    }

    @Test
    void rangedRead_readsFromTheOffset_andMinusOneAtTheEnd() throws IOException {
        LocalObjectStore store = store();
        store.put("b/o", "0123456789".getBytes(StandardCharsets.UTF_8));
        ByteBuffer buffer = ByteBuffer.allocate(4);
        assertThat(store.read("b/o", 3, buffer)).isEqualTo(4);
        assertThat(new String(buffer.array(), StandardCharsets.UTF_8)).isEqualTo("3456");
        assertThat(store.read("b/o", 8, ByteBuffer.allocate(4))).isEqualTo(2);
        assertThat(store.read("b/o", 10, ByteBuffer.allocate(4))).isEqualTo(-1);
    }

    @Test
    void uploadDownload_roundTrip_leavesNoPartFiles() throws IOException {
        LocalObjectStore store = store();
        Path source = Files.write(dir.resolve("src"), new byte[100_000]);
        store.upload("b/rootfs.ext4", source);
        Path target = dir.resolve("copy");
        store.download("b/rootfs.ext4", target);
        assertThat(Files.size(target)).isEqualTo(100_000);
        try (Stream<Path> files = Files.walk(dir.resolve("store"))) {
            assertThat(files.map(Path::getFileName).map(Path::toString)).noneMatch(n -> n.contains(".part-"));
        }
    }

    @Test
    void missingObjects_areNoSuchObject_namingTheKeyAndStore() {
        LocalObjectStore store = store();
        assertThatThrownBy(() -> store.size("x/rootfs.ext4")).isInstanceOf(NoSuchObjectException.class)
                .hasMessageContaining("x/rootfs.ext4").hasMessageContaining("file://");
        assertThatThrownBy(() -> store.download("x/rootfs.ext4", dir.resolve("t"))).isInstanceOf(NoSuchObjectException.class);
        assertThatThrownBy(() -> store.get("x/y")).isInstanceOf(NoSuchObjectException.class);
    }

    @Test
    void keysCannotEscapeTheStore() {
        LocalObjectStore store = store();
        assertThatThrownBy(() -> store.exists("../etc/passwd")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.exists("/etc/passwd")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.exists("a//b")).isInstanceOf(IllegalArgumentException.class);
    }
}
