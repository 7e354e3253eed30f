package io.tmount.serve;

import io.tmount.image.BlockImage;
import io.tmount.image.BuildImages;
import io.tmount.image.LayeredImage;
import io.tmount.prefetch.Traces;
import io.tmount.image.BuildLayout;
import io.tmount.image.FileImage;
import io.tmount.image.Overlay;
import io.tmount.nbd.NbdExport;
import io.tmount.metrics.MeteredImage;
import io.tmount.metrics.Metrics;
import io.tmount.nbd.NbdServer;
import io.tmount.nbd.PayloadBudget;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The one place the served chain is wired, for mounts and exports alike: store → chunk caches (shared) → layered
 * image → overlay (writable only) → NBD server. On a failure everything made so far is closed before the error
 * leaves.
 */
public final class ServedImages {

    private final BuildImages images;
    private final PayloadBudget payloads;
    private final Metrics metrics;
    private final String kind;
    private final Traces traces;

    /** {@code payloads}: the request payload budget the servers made here share. */
    public ServedImages(BuildImages images, PayloadBudget payloads) {
        this(images, payloads, Metrics.unregistered(), "mount", null);
    }

    /**
     * The same, counting the servers' requests in {@code metrics} as those of {@code kind} (mount or export), and
     * replaying and recording builds' read {@code traces} (null: none).
     */
    public ServedImages(BuildImages images, PayloadBudget payloads, Metrics metrics, String kind, Traces traces) {
        this.images = images;
        this.payloads = payloads;
        this.metrics = metrics;
        this.kind = kind;
        this.traces = traces;
    }

    public Metrics metrics() {
        return metrics;
    }

    public BuildImages images() {
        return images;
    }

    /**
     * Serves a build (its layout resolved), streamed through the shared chunk caches; its read trace (or its nearest
     * ancestor's) is prefetched behind the readers, and what this serving reads first is recorded in it.
     */
    public Served serve(BuildLayout layout, Serving serving) throws IOException {
        LayeredImage image = images.open(layout);
        return serve(image, traces == null ? List.of() : List.of(traces.follow(layout.build(), images.store(), image)),
                serving);
    }

    public Traces traces() {
        return traces;
    }

    /** Serves a raw image file, never written: a writable serving writes into its overlay. */
    public Served serve(Path imageFile, Serving serving) throws IOException {
        FileImage file = FileImage.open(imageFile, true);
        return serve(file, List.of(file), serving);
    }

    private Served serve(BlockImage base, List<AutoCloseable> owned, Serving serving) throws IOException {
        List<AutoCloseable> below = new ArrayList<>(owned);
        try {
            BlockImage image = base;
            Overlay overlay = null;
            if (!serving.readOnly()) {
                overlay = Overlay.open(base, serving.overlayDir(), images.budget()::reclaim);
                below.addFirst(overlay);
                image = overlay;
            }
            NbdServer server = NbdServer.start(serving.listen(), List.of(new NbdExport(serving.name(),
                    serving.description(), new MeteredImage(image, metrics, kind), serving.readOnly())), serving.limits(), payloads, serving.tls());
            return new Served(server, overlay, below);
        } catch (IOException | RuntimeException e) {
            try {
                closeAll(below);
            } catch (IOException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    /** Closes each part in order, all of them whatever fails; the first failure leaves with the others suppressed. */
    static void closeAll(List<AutoCloseable> parts) throws IOException {
        IOException failure = null;
        for (AutoCloseable part : parts) {
            try {
                part.close();
            } catch (Exception e) {
                IOException io = e instanceof IOException x ? x : new IOException(e.getMessage(), e);
                if (failure == null) {
                    failure = io;
                } else {
                    failure.addSuppressed(io);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
