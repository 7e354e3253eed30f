package io.tmount.device;

import io.tmount.TmountException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The attach backends of this host, in order of preference, and the choice among them. */
public final class Attachers {

    private static final Logger log = LoggerFactory.getLogger(Attachers.class);

    private final List<Attacher> preferred;

    /** {@code preferred}: one attacher per backend, the best first (kernel-nbd, then fuse-loop). */
    public Attachers(List<Attacher> preferred) {
        this.preferred = List.copyOf(preferred);
    }

    /** Kernel NBD (with a pool of {@code nbdPoolSize} devices) where the module is loaded, else fuse-loop. */
    public static Attachers onThisHost(int nbdPoolSize) {
        NbdDevicePool pool = NbdDevicePool.onThisHost(nbdPoolSize, Duration.ofSeconds(10));
        return new Attachers(List.of(KernelNbdAttacher.onThisHost(pool), FuseLoopAttacher.onThisHost()));
    }

    /** The requested backend if this host supports it, or (for null) the first that works here. */
    public Attacher select(AttachBackend requested) {
        if (requested != null) {
            Attacher attacher = get(requested);
            attacher.unavailableReason().ifPresent(reason -> {
                throw new TmountException(TmountException.Kind.UNAVAILABLE,
                        "attach backend " + requested + " cannot work on this host: " + reason);
            });
            return attacher;
        }
        List<String> reasons = new ArrayList<>();
        for (Attacher attacher : preferred) {
            Optional<String> reason = attacher.unavailableReason();
            if (reason.isEmpty()) {
                return attacher;
            }
            reasons.add(attacher.backend() + ": " + reason.get());
        }
        throw new TmountException(TmountException.Kind.UNAVAILABLE,
                "no attach backend works on this host (" + String.join("; ", reasons) + ")");
    }

    /**
     * The backend a mount of an earlier run used, to bring it back after a restart; when this host no longer has it
     * (the nbd module gone after a reboot), the first that works here, said in the log: the mount comes back all the
     * same, on another kind of device.
     */
    public Attacher forRestore(AttachBackend used, String mount) {
        try {
            return select(used);
        } catch (TmountException unavailable) {
            Attacher other = select(null);
            log.warn("mount {} used attach backend {}, which this host cannot use now ({}); restoring it with {}",
                    mount, used, unavailable.getMessage(), other.backend());
            return other;
        }
    }

    public Attacher get(AttachBackend backend) {
        return preferred.stream().filter(a -> a.backend() == backend).findFirst()
                .orElseThrow(() -> new TmountException(TmountException.Kind.UNAVAILABLE,
                        "attach backend " + backend + " is not configured"));
    }
}
