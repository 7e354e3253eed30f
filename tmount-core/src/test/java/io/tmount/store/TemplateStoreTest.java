package io.tmount.store;

import io.tmount.TmountException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TemplateStoreTest {

    @TempDir
    Path dir;

    private TemplateStore store;
    private Path image;

    @BeforeEach
    void open() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        image = Files.write(dir.resolve("rootfs.ext4"), new byte[8192]);
    }

    @Test
    void publish_writesE2bLayoutAndMetadata() throws IOException {
        BuildId build = BuildId.of("b1");
        Instant created = Instant.parse("2026-11-28T10:00:00Z");
        store.publish(BuildMetadata.forNewBuild(build, TemplateId.of("t1"), null, 8192, created), image);
        assertThat(dir.resolve("store/b1/rootfs.ext4")).hasSize(8192);
        String json = Files.readString(dir.resolve("store/b1/metadata.json"));
        assertThat(json).contains("\"version\" : 2").contains("\"build_id\" : \"b1\"").contains("\"template_id\" : \"t1\"");
        BuildMetadata read = store.metadata(build).orElseThrow();
        assertThat(read.templateId()).isEqualTo(TemplateId.of("t1"));
        assertThat(read.createdAt()).isEqualTo(created);
        assertThat(read.sizeBytes()).isEqualTo(8192);
    }

    @Test
    void publish_refusesAnExistingBuild() {
        store.publish(BuildMetadata.forNewBuild(BuildId.of("b1"), TemplateId.of("t"), null, 1, Instant.now()), image);
        assertThatThrownBy(() -> store.publish(
                BuildMetadata.forNewBuild(BuildId.of("b1"), TemplateId.of("t"), null, 1, Instant.now()), image))
                .hasMessageContaining("build 'b1' already exists");
    }

    private static BuildMetadata layer(String id) {
        return BuildMetadata.forNewBuild(BuildId.of(id), TemplateId.of("t"), BuildId.of("base"), 8192, Instant.now());
    }

    @Test
    void publishLayer_writesTheHeaderBeforeTheRootfs_andTheMetadataLast() throws IOException {
        RecordingStore objects = new RecordingStore(new StoreLocation.Local(dir.resolve("store")).open());
        new TemplateStore(objects).publishLayer(layer("l1"), image, new byte[]{1, 2, 3});
        assertThat(objects.calls).containsExactly("create l1/rootfs.ext4.header", "create l1/rootfs.ext4",
                "create l1/metadata.json");
    }

    @Test
    void aFailedPublication_removesTheRootfsFirst_soNoHalfBuildEverExists() throws IOException {
        RecordingStore objects = new RecordingStore(new StoreLocation.Local(dir.resolve("store")).open());
        TemplateStore failing = new TemplateStore(objects);
        objects.failing = call -> call.equals("create l1/metadata.json");
        assertThatThrownBy(() -> failing.publishLayer(layer("l1"), image, new byte[]{1}))
                .hasMessageContaining("cannot store build 'l1'");
        assertThat(objects.calls).endsWith("delete l1/rootfs.ext4", "delete l1/rootfs.ext4.header");
        assertThat(dir.resolve("store/l1")).doesNotExist();

        // when the rootfs cannot be deleted, its header stays: the leftover is a layer, never a headerless build
        objects.calls.clear();
        objects.failing = call -> call.equals("create l2/metadata.json") || call.equals("delete l2/rootfs.ext4");
        assertThatThrownBy(() -> failing.publishLayer(layer("l2"), image, new byte[]{1}))
                .hasMessageContaining("cannot store build 'l2'");
        assertThat(dir.resolve("store/l2/rootfs.ext4.header")).exists();
        assertThat(objects.calls).doesNotContain("delete l2/rootfs.ext4.header");
    }

    @Test
    void concurrentPublicationsOfOneId_oneWins_theOthersAreConflicts() throws Exception {
        Path other = dir.resolve("other-store-process");
        TemplateStore second = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open()); // as another daemon
        java.util.List<java.util.concurrent.Callable<Integer>> writers = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            TemplateStore writer = i % 2 == 0 ? store : second;
            byte header = (byte) i;
            writers.add(() -> {
                try {
                    writer.publishLayer(layer("same"), image, new byte[]{header});
                    return 1;
                } catch (TmountException e) {
                    assertThat(e.kind()).isEqualTo(TmountException.Kind.CONFLICT);
                    return 0;
                }
            });
        }
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
            int winners = 0;
            for (var result : pool.invokeAll(writers)) {
                winners += result.get();
            }
            assertThat(winners).isEqualTo(1);
        }
        assertThat(store.exists(BuildId.of("same"))).isTrue();
        assertThat(other).doesNotExist();
    }

    @Test
    void e2bMetadataWithoutTemplateId_isAcceptedForAnyTemplate() throws IOException {
        Files.createDirectories(dir.resolve("store/e2b"));
        Files.copy(image, dir.resolve("store/e2b/rootfs.ext4"));
        Files.writeString(dir.resolve("store/e2b/metadata.json"),
                "{\"version\":2,\"template\":{\"build_id\":\"e2b\",\"kernel_version\":\"vmlinux-6.1\","
                        + "\"firecracker_version\":\"v1.10\"},\"context\":{\"user\":\"root\"}}", StandardCharsets.UTF_8);
        BuildMetadata metadata = store.resolve(TemplateId.of("anything"), BuildId.of("e2b")).orElseThrow();
        assertThat(metadata.templateId()).isNull();
        assertThat(metadata.kernelVersion()).isEqualTo("vmlinux-6.1");
    }

    @Test
    void aNewLayer_keepsWhatE2bRecordedOfItsParent_andIsMarkedFilesystemOnly() throws IOException {
        Files.createDirectories(dir.resolve("store/e2b"));
        Files.copy(image, dir.resolve("store/e2b/rootfs.ext4"));
        Files.writeString(dir.resolve("store/e2b/metadata.json"), """
                {"version":3,"template":{"build_id":"e2b","kernel_version":"vmlinux-6.1","firecracker_version":"v1.12"},
                 "context":{"user":"user","workdir":"/home/user","env_vars":{"A":"1"}},
                 "start":{"start_command":"npm start"},"from_template":{"alias":"base"},"future_field":[1,2]}""");
        BuildMetadata parent = store.metadata(BuildId.of("e2b")).orElseThrow();
        store.publish(BuildMetadata.forNewBuild(BuildId.of("child"), TemplateId.of("t"), BuildId.of("e2b"), 8192,
                Instant.now()).withE2bFrom(parent), image);
        var written = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Files.readString(dir.resolve("store/child/metadata.json")));
        assertThat(written.path("version").asInt()).isEqualTo(3);
        assertThat(written.path("template").path("build_id").asText()).isEqualTo("child");
        assertThat(written.path("template").path("kernel_version").asText()).isEqualTo("vmlinux-6.1");
        assertThat(written.path("template").path("firecracker_version").asText()).isEqualTo("v1.12");
        assertThat(written.path("context").path("workdir").asText()).isEqualTo("/home/user");
        assertThat(written.path("start").path("start_command").asText()).isEqualTo("npm start");
        assertThat(written.path("future_field")).hasSize(2);
        // no memory snapshot: e2b's orchestrator boots it afresh instead of resuming it
        assertThat(written.path("filesystem_only").asBoolean()).isTrue();
        assertThat(written.path("tmount").path("parent_build_id").asText()).isEqualTo("e2b");
        assertThat(store.metadata(BuildId.of("child")).orElseThrow().templateId()).isEqualTo(TemplateId.of("t"));
    }

    @Test
    void buildWithoutMetadata_isAccepted() throws IOException {
        Files.createDirectories(dir.resolve("store/bare"));
        Files.copy(image, dir.resolve("store/bare/rootfs.ext4"));
        assertThat(store.resolve(TemplateId.of("t"), BuildId.of("bare"))).isEmpty();
    }

    @Test
    void resolve_missingBuild_namesBothIdsAndTheStore() {
        assertThatThrownBy(() -> store.resolve(TemplateId.of("t1"), BuildId.of("nope")))
                .isInstanceOf(TmountException.class)
                .hasMessageContaining("'nope'").hasMessageContaining("'t1'").hasMessageContaining("file://")
                .satisfies(e -> assertThat(((TmountException) e).kind()).isEqualTo(TmountException.Kind.NOT_FOUND));
    }

    @Test
    void resolve_templateMismatch_namesBoth() {
        store.publish(BuildMetadata.forNewBuild(BuildId.of("b1"), TemplateId.of("alpha"), null, 1, Instant.now()), image);
        assertThatThrownBy(() -> store.resolve(TemplateId.of("beta"), BuildId.of("b1")))
                .hasMessage("build 'b1' belongs to template 'alpha', not to template 'beta'");
    }

    @Test
    void corruptMetadata_isAClearError() throws IOException {
        Files.createDirectories(dir.resolve("store/bad"));
        Files.copy(image, dir.resolve("store/bad/rootfs.ext4"));
        Files.writeString(dir.resolve("store/bad/metadata.json"), "{not json");
        assertThatThrownBy(() -> store.resolve(TemplateId.of("t"), BuildId.of("bad")))
                .hasMessageContaining("bad/metadata.json");
    }

    @Test
    void list_showsBuildsWithTheirTemplate_andSkipsOtherFolders() throws IOException {
        store.publish(BuildMetadata.forNewBuild(BuildId.of("b1"), TemplateId.of("alpha"), null, 8192, Instant.now()), image);
        Files.createDirectories(dir.resolve("store/not-a-build"));
        Files.createDirectories(dir.resolve("store/.hidden"));
        assertThat(store.list()).singleElement().satisfies(b -> {
            assertThat(b.buildId()).isEqualTo(BuildId.of("b1"));
            assertThat(b.templateId()).isEqualTo(TemplateId.of("alpha"));
            assertThat(b.storedBytes()).isEqualTo(8192);
            assertThat(b.layered()).isFalse();
        });
    }

    @Test
    void aHeaderObjectLargerThanAnyReadableHeader_isRefusedBeforeItIsFetched() throws IOException {
        // a 400 MB header object (sparse here): nothing e2b writes is this large, and reading it whole would be a bomb
        Path folder = Files.createDirectories(dir.resolve("store/huge-1"));
        try (var file = new java.io.RandomAccessFile(folder.resolve(TemplateStore.HEADER).toFile(), "rw")) {
            file.setLength(400_000_000L);
        }
        List<String> fetched = new java.util.concurrent.CopyOnWriteArrayList<>();
        ObjectStore local = new StoreLocation.Local(dir.resolve("store")).open();
        try (TemplateStore watched = new TemplateStore(new io.tmount.testing.ForwardingStore(local) {
            @Override
            public byte[] get(String key) throws IOException {
                fetched.add(key);
                return super.get(key);
            }
        })) {
            assertThatThrownBy(() -> watched.headerBytes(BuildId.of("huge-1"),
                    io.tmount.header.HeaderCodec.MAX_HEADER_BYTES))
                    .isInstanceOf(TmountException.class)
                    .hasMessageContaining("huge-1/rootfs.ext4.header")
                    .hasMessageContaining("has 400000000 bytes, more than any header tmount reads");
            assertThat(fetched).isEmpty();
        }
    }
}
