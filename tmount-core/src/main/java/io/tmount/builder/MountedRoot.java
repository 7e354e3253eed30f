package io.tmount.builder;

import io.tmount.mount.MountManager;
import io.tmount.mount.MountOptions;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.nio.file.Path;

/**
 * A build root on a writable, ephemeral copy-on-write mount of the build so far; each step's changes become a layer
 * ({@link MountManager#commitAndAdvance}).
 */
final class MountedRoot implements BuildRoot {

    private final MountManager manager;
    private final Path path;

    private MountedRoot(MountManager manager, Path path) {
        this.manager = manager;
        this.path = path;
    }

    /** {@code base}: the template the template file names its base by (counted by the trust policy). */
    static MountedRoot mount(MountManager manager, TemplateId template, BuildId build, Path path, TemplateId base) {
        manager.mountTemplate(template, build, path, MountOptions.defaults().withEphemeral(true).withDescendsFrom(base));
        return new MountedRoot(manager, path);
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public void close() {
        manager.unmountTemplate(path);
    }
}
