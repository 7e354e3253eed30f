package io.tmount.builder;

import io.tmount.TmountException;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountOptions;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The templates a build's MOUNT steps mounted inside its root, by their path in the root, in mount order; UNMOUNT
 * and the end of the build take them down, last mounted first.
 */
final class StepMounts {

    private final MountManager manager;
    private final Path root;
    private final Map<String, Path> mounts = new LinkedHashMap<>();

    StepMounts(MountManager manager, Path root) {
        this.manager = manager;
        this.root = root;
    }

    /** MOUNT: the build's template at {@code host}, a folder inside the root (never the root itself). */
    void mount(TemplateId template, BuildId build, Path host, boolean writable) {
        if (host.equals(root)) {
            throw TmountException.invalid("cannot mount over the build root itself");
        }
        String inRoot = RootPaths.inRoot(root, host);
        if (mounts.containsKey(inRoot)) {
            throw TmountException.conflict("%s is already mounted by this build", inRoot);
        }
        manager.mountTemplate(template, build, host,
                // over a folder of the build's own root: hiding what is there is the build's business
                MountOptions.defaults().withReadOnly(!writable).withEphemeral(true).withAllowNonEmpty(true));
        mounts.put(inRoot, host);
    }

    boolean isEmpty() {
        return mounts.isEmpty();
    }

    /** UNMOUNT: what a MOUNT step of this build mounted at {@code host}. */
    void unmount(Path host) {
        String inRoot = RootPaths.inRoot(root, host);
        Path mounted = mounts.get(inRoot);
        if (mounted == null) {
            throw TmountException.invalid("%s is not mounted by this build%s", inRoot,
                    mounts.isEmpty() ? "" : " (mounted: " + String.join(", ", mounts.keySet()) + ")");
        }
        manager.unmountTemplate(mounted);
        mounts.remove(inRoot);
    }

    /** After the last step, before the commit: what is still mounted, last first, each said in the log. */
    void unmountLeft(BuildLog out) {
        for (String path : new ArrayList<>(mounts.keySet()).reversed()) {
            out.line("unmounting " + path + ", still mounted when the steps ended");
            manager.unmountTemplate(mounts.remove(path));
        }
    }

    /** After a failure: takes down everything, last first; failures ride along with the build's. */
    void unmountAll(Throwable failure) {
        List<String> paths = new ArrayList<>(mounts.keySet());
        for (String path : paths.reversed()) {
            try {
                manager.unmountTemplate(mounts.remove(path));
            } catch (RuntimeException e) {
                failure.addSuppressed(e);
            }
        }
    }
}
