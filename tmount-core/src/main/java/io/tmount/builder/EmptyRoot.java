package io.tmount.builder;

import io.tmount.image.BuildWriter;
import io.tmount.image.WriteFormat;
import io.tmount.os.Commands;
import io.tmount.os.HostTools;
import io.tmount.os.MountTable;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A build root on a new, empty ext4 image (fromEmpty), loop-mounted; committing unmounts it and stores the image as
 * a base build.
 */
final class EmptyRoot implements BuildRoot {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    private final TemplateStore store;
    private final TemplateId template;
    private final Path image;
    private final Path path;

    private EmptyRoot(TemplateStore store, TemplateId template, Path image, Path path) {
        this.store = store;
        this.template = template;
        this.image = image;
        this.path = path;
    }

    static EmptyRoot create(TemplateStore store, TemplateId template, long size, Path image, Path path) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(size);
        }
        EmptyRoot root = new EmptyRoot(store, template, image, path);
        try {
            Commands.check(TIMEOUT, List.of(HostTools.require("mkfs.ext4", "e2fsprogs", "builds").toString(),
                    "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-E", "root_owner=0:0", image.toString()));
            Files.createDirectories(path);
            Commands.check(TIMEOUT, List.of(HostTools.require("mount", "mount", "builds").toString(), "-t", "ext4",
                    "-o", "loop,nosuid,nodev", image.toString(), path.toString()));
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
        unmount();
        new BuildWriter(store, image.getParent()).writeBase(
                BuildMetadata.forNewBuild(newBuild, template, null, Files.size(image), Instant.now()), image, format);
    }

    private void unmount() throws IOException {
        if (MountTable.ofThisProcess().isMountPoint(path)) {
            Commands.check(TIMEOUT, List.of(HostTools.require("umount", "mount", "builds").toString(), path.toString()));
        }
    }

    @Override
    public void close() throws IOException {
        try {
            if (MountTable.ofThisProcess().isMountPoint(path)) {
                Commands.check(TIMEOUT, List.of(HostTools.require("umount", "mount", "builds").toString(), "--lazy",
                        path.toString()));
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }
}
