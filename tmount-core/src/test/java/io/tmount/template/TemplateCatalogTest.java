package io.tmount.template;

import io.tmount.ByteSize;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.testing.HostTool;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TemplateCatalogTest {

    @TempDir
    Path dir;

    private TemplateStore store;
    private TemplateCatalog catalog;

    @BeforeEach
    void open() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        catalog = new TemplateCatalog(store, dir.resolve("scratch"));
    }

    @AfterEach
    void close() throws IOException {
        store.close();
    }

    @Test
    void create_makesACleanExt4ImageHoldingTheFolder() {
        Path source = Trees.sample(dir.resolve("src"), 1);
        BuildId build = catalog.create(TemplateId.of("t"), null, source, null);
        Path image = dir.resolve("store/" + build + "/rootfs.ext4");
        assertThat(image).exists();
        String e2fsck = HostTool.require("e2fsck", "e2fsprogs").toString();
        Run.ok(e2fsck, "-fn", image.toString());
        assertThat(Run.ok("debugfs", "-R", "cat /etc/hostname", image.toString()).stdout()).isEqualTo("template-1\n");
        assertThat(Run.ok("dumpe2fs", "-h", image.toString()).stdout()).containsPattern("Block size:\\s+4096");
        assertThat(store.metadata(build).orElseThrow().templateId()).isEqualTo(TemplateId.of("t"));
        assertThat(dir.resolve("scratch")).isEmptyDirectory();
    }

    @Test
    void import_ofAnImageOffTheBlockGrid_isPaddedToWholeBlocks_asE2bsReaderNeeds() throws IOException {
        Path image = dir.resolve("odd.ext4");
        Ext4Images.makeFromDirectory(Trees.sample(dir.resolve("src"), 4), 40L << 20, image);
        try (var file = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            file.setLength((40L << 20) + 1000);
        }
        BuildId build = catalog.importImage(TemplateId.of("t"), null, image);
        assertThat(Files.size(dir.resolve("store/" + build + "/rootfs.ext4"))).isEqualTo((40L << 20) + 4096);
        var header = io.tmount.image.BuildLayout.read(store, build).header();
        assertThat(header.size()).isEqualTo((40L << 20) + 4096);
        assertThat(header.mappings()).allSatisfy(m -> {
            assertThat(m.offset() % 4096).isZero();
            assertThat(m.length() % 4096).isZero();
        });
        assertThat(dir.resolve("scratch")).isEmptyDirectory(); // the padded copy is gone
    }

    @Test
    void create_withSizeAndBuildId() throws IOException {
        BuildId build = catalog.create(TemplateId.of("t"), BuildId.of("build-abc123"),
                Trees.sample(dir.resolve("src"), 2), ByteSize.parse("64M"));
        assertThat(build).isEqualTo(BuildId.of("build-abc123"));
        assertThat(Files.size(dir.resolve("store/build-abc123/rootfs.ext4"))).isEqualTo(64L << 20);
    }

    @Test
    void create_tooSmall_failsWithMkfsReason_andStoresNothing() throws IOException {
        Path source = Trees.sample(dir.resolve("src"), 3);
        byte[] big = new byte[8 << 20];
        new java.util.Random(1).nextBytes(big); // zeros would be stored as holes and fit
        Files.write(source.resolve("big.bin"), big);
        assertThatThrownBy(() -> catalog.create(TemplateId.of("t"), BuildId.of("small"), source, ByteSize.parse("4M")))
                .hasMessageContaining("cannot create template t").hasMessageContaining("mkfs.ext4");
        assertThat(store.exists(BuildId.of("small"))).isFalse();
    }

    @Test
    void create_refusesAMissingFolderAndAnExistingBuild() {
        assertThatThrownBy(() -> catalog.create(TemplateId.of("t"), null, dir.resolve("nope"), null))
                .hasMessageContaining("is not a directory");
        Path source = Trees.sample(dir.resolve("src"), 4);
        catalog.create(TemplateId.of("t"), BuildId.of("b"), source, null);
        assertThatThrownBy(() -> catalog.create(TemplateId.of("t"), BuildId.of("b"), source, null))
                .hasMessageContaining("build 'b' already exists");
    }

    @Test
    void import_storesAnExt4Image_andRefusesAnythingElse() throws IOException {
        Path image = dir.resolve("image.ext4");
        Ext4Images.makeFromDirectory(Trees.sample(dir.resolve("src"), 5), 40L << 20, image);
        BuildId build = catalog.importImage(TemplateId.of("imported"), null, image);
        assertThat(Trees.sha256(dir.resolve("store/" + build + "/rootfs.ext4"))).isEqualTo(Trees.sha256(image));
        assertThat(catalog.list()).extracting(b -> b.templateId().value()).containsExactly("imported");

        Path junk = Files.write(dir.resolve("junk.img"), new byte[1 << 20]);
        assertThatThrownBy(() -> catalog.importImage(TemplateId.of("t"), null, junk))
                .hasMessageContaining("is not an ext4 image");
        assertThatThrownBy(() -> catalog.importImage(TemplateId.of("t"), null, dir.resolve("missing.img")))
                .hasMessageContaining("is not a file");
    }

    @Test
    void defaultSize_fitsTheFolderWithRoom() throws IOException {
        Path source = Trees.sample(dir.resolve("src"), 6);
        long size = Ext4Images.defaultSizeFor(source);
        assertThat(size).isGreaterThanOrEqualTo(32L << 20).isEqualTo(size / (1 << 20) * (1 << 20));
        Files.write(source.resolve("big.bin"), new byte[64 << 20]);
        assertThat(Ext4Images.defaultSizeFor(source)).isGreaterThan((64L << 20) * 5 / 4);
    }
}
