package io.tmount.template;

import io.tmount.ByteSize;
import io.tmount.TmountException;
import io.tmount.image.BuildWriter;
import io.tmount.image.WriteFormat;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.BuildSummary;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/** Puts templates into the store: from a folder (made into ext4) or from an existing ext4 image; lists builds. */
public final class TemplateCatalog {

    private static final Logger log = LoggerFactory.getLogger(TemplateCatalog.class);

    private final TemplateStore store;
    private final Path scratchDir;

    /** {@code scratchDir}: where images are built before they are stored. */
    public TemplateCatalog(TemplateStore store, Path scratchDir) {
        this.store = store;
        this.scratchDir = scratchDir;
    }

    /** Makes an ext4 image of the folder and stores it as a new build; {@code build} null picks a new UUID. */
    public BuildId create(TemplateId template, BuildId build, Path fromDir, ByteSize size) {
        return create(template, build, fromDir, size, WriteFormat.DEFAULT);
    }

    /** The same, stored as {@code format} says (compression, header version). */
    public BuildId create(TemplateId template, BuildId build, Path fromDir, ByteSize size, WriteFormat format) {
        if (!Files.isDirectory(fromDir)) {
            throw TmountException.invalid("--from-dir %s is not a directory", fromDir);
        }
        BuildId id = build == null ? BuildId.random() : build;
        refuseExisting(id);
        Path image = null;
        try {
            Files.createDirectories(scratchDir);
            image = Files.createTempFile(scratchDir, "create-", ".ext4");
            long bytes = size == null ? Ext4Images.defaultSizeFor(fromDir) : size.bytes();
            Ext4Images.makeFromDirectory(fromDir, bytes, image);
            new BuildWriter(store, scratchDir).writeBase(BuildMetadata.forNewBuild(id, template, null, bytes,
                    Instant.now()), image, format);
            log.info("created template {} build {} ({}) from {}", template, id, ByteSize.format(bytes), fromDir);
            return id;
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot create template %s from %s", template, fromDir);
        } finally {
            deleteQuietly(image);
        }
    }

    /** Stores an existing ext4 image as a new build. */
    public BuildId importImage(TemplateId template, BuildId build, Path image) {
        return importImage(template, build, image, WriteFormat.DEFAULT);
    }

    /**
     * The same, stored as {@code format} says. An image whose size is not a whole number of 4 KiB blocks is stored
     * padded with zeros to the next block, as e2b's reader needs.
     */
    public BuildId importImage(TemplateId template, BuildId build, Path image, WriteFormat format) {
        if (!Files.isRegularFile(image)) {
            throw TmountException.invalid("image %s is not a file", image);
        }
        BuildId id = build == null ? BuildId.random() : build;
        refuseExisting(id);
        try {
            Ext4Images.requireExt4(image);
            long bytes = Files.size(image);
            new BuildWriter(store, scratchDir).writeBase(BuildMetadata.forNewBuild(id, template, null, bytes,
                    Instant.now()), image, format);
            log.info("imported {} as template {} build {} ({})", image, template, id, ByteSize.format(bytes));
            return id;
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot import %s", image);
        }
    }

    public List<BuildSummary> list() {
        return store.list();
    }

    private void refuseExisting(BuildId id) {
        if (store.exists(id)) {
            throw TmountException.conflict("build '%s' already exists in template store %s", id, store.url());
        }
    }

    private static void deleteQuietly(Path file) {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.warn("cannot delete {}: {}", file, e.getMessage());
        }
    }
}
