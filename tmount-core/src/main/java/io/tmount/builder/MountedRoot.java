package io.tmount.builder;

import io.tmount.image.WriteFormat;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountOptions;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.nio.file.Path;

/** A build root on a writable copy-on-write mount of the base build; its overlay becomes the new layer. */
final class MountedRoot implements BuildRoot {

    private final MountManager manager;
    private final Path path;
    private final TemplateId template;

    private MountedRoot(MountManager manager, Path path, TemplateId template) {
        this.manager = manager;
        this.path = path;
        this.template = template;
    }

    static MountedRoot mount(MountManager manager, TemplateId baseTemplate, BuildId baseBuild, Path path,
                             TemplateId newTemplate) {
        manager.mountTemplate(baseTemplate, baseBuild, path, MountOptions.defaults().withEphemeral(true));
        return new MountedRoot(manager, path, newTemplate);
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public void commit(BuildId newBuild, WriteFormat format) {
        manager.commit(path, newBuild, template, true, format);
    }

    @Override
    public void close() {
        manager.unmountTemplate(path);
    }
}
