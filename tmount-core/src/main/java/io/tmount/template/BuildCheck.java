package io.tmount.template;

import io.tmount.TmountException;
import io.tmount.image.BuildLayout;
import io.tmount.image.BuildVerifier;
import io.tmount.image.ImageComposer;
import io.tmount.os.Ext4Check;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * {@code tmount verify}: the chain's integrity ({@link BuildVerifier}: layout, sizes, frames, SHA-256, read from the
 * store) and, when asked, {@code e2fsck -fn} on the composed image, as e2b's {@code mount-build-rootfs -verify} does.
 */
public final class BuildCheck {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BuildCheck.class);
    private static final Duration FSCK_TIMEOUT = Duration.ofMinutes(30);

    /** What e2fsck said: its exit status (0: clean) and the end of its output. */
    public record Fsck(int exitCode, boolean clean, String output) {
    }

    /** The verdict: intact when no build has a problem and e2fsck (if run) found the filesystem clean. */
    public record Result(BuildId build, boolean intact, List<BuildVerifier.LayerCheck> layers, Fsck fsck) {
    }

    private BuildCheck() {
    }

    /** {@code scratch}: where the composed image is written for e2fsck (it needs the image's size, sparse). */
    public static Result run(TemplateStore store, BuildId build, boolean fsck, Path scratch) {
        List<BuildVerifier.LayerCheck> layers = new BuildVerifier(store).verify(build);
        boolean intact = layers.stream().allMatch(BuildVerifier.LayerCheck::intact);
        Fsck checked = null;
        if (fsck && intact) { // a damaged chain composes to garbage: e2fsck would only repeat it
            checked = fsck(store, build, scratch);
            intact = checked.clean();
        }
        return new Result(build, intact, layers, checked);
    }

    private static Fsck fsck(TemplateStore store, BuildId build, Path scratch) {
        Path image = null;
        try {
            Files.createDirectories(scratch);
            image = Files.createTempFile(scratch, "verify-", ".ext4");
            ImageComposer.compose(store, BuildLayout.read(store, build), image);
            Ext4Check.Result result = Ext4Check.run(image, FSCK_TIMEOUT, "verify --fsck");
            return new Fsck(result.exitCode(), result.clean(), result.output());
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot run e2fsck on build %s", build);
        } finally {
            if (image != null) {
                try {
                    Files.deleteIfExists(image);
                } catch (IOException e) {
                    log.warn("cannot remove the composed image {}: {}", image, e.getMessage());
                }
            }
        }
    }
}
