package io.tmount.builder;

import io.tmount.mount.MountManager;
import io.tmount.mount.MountOptions;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads a file of a build through a read-only mount at {@code mnt}, for the build tests; null when it is absent. */
final class BuildFiles {

    private BuildFiles() {
    }

    static String read(MountManager manager, TemplateId template, BuildId build, Path mnt, String path)
            throws IOException {
        manager.mountTemplate(template, build, mnt, MountOptions.defaults().withReadOnly(true));
        try {
            Path file = mnt.resolve(path.substring(1));
            return Files.exists(file) ? Files.readString(file) : null;
        } finally {
            manager.unmountTemplate(mnt);
        }
    }
}
