package io.tmount.builder;

import io.tmount.image.BuildWriter;
import io.tmount.image.WriteFormat;
import io.tmount.os.FilesystemMounter;
import io.tmount.os.MountTable;
import io.tmount.os.PathHolders;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.Ext4Images;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * A build root on a new, empty ext4 image (fromEmpty), mounted from the file (mount(8) sets up and frees the loop
 * device); committing unmounts it and stores the image as a base build.
 */
final class EmptyRoot implements BuildRoot {

    /** How long an unmount retries while a step's leftover process still holds the root. */
    private static final Duration BUSY_RETRY = Duration.ofSeconds(10);

    private final TemplateStore store;
    private final TemplateId template;
    private final Path image;
    private final Path path;
    private final FilesystemMounter filesystems;

    private EmptyRoot(TemplateStore store, TemplateId template, Path image, Path path) {
        this.store = store;
        this.template = template;
        this.image = image;
        this.path = path;
        this.filesystems = new FilesystemMounter(MountTable.ofThisProcess(), PathHolders.ofThisHost(), BUSY_RETRY);
    }

    static EmptyRoot create(TemplateStore store, TemplateId template, long size, Path image, Path path) throws IOException {
        EmptyRoot root = new EmptyRoot(store, template, image, path);
        try {
            Ext4Images.makeEmpty(size, image);
            Files.createDirectories(path);
            root.filesystems.mount(image, path, false);
            return root;
        } catch (IOException | RuntimeException e) {
            try {
                root.close();
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public void commit(BuildId newBuild, WriteFormat format) throws IOException {
        filesystems.unmount(path);
        new BuildWriter(store, image.getParent()).writeBase(
                BuildMetadata.forNewBuild(newBuild, template, null, Files.size(image), Instant.now()), image, format);
    }

    @Override
    public void close() throws IOException {
        try {
            filesystems.unmountLazily(path);
        } finally {
            Files.deleteIfExists(image);
        }
    }
}
