package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.store.TemplateId;

import java.util.Map;

/**
 * Which templates' images the host kernel may parse: per template, with a default for the rest of the store.
 * {@link Trust#TRUSTED} images mount as asked (the kernel's ext4 unless told otherwise); {@link Trust#CHECKED} ones
 * may use the kernel's ext4 only after {@code e2fsck -fn} passed; {@link Trust#UNTRUSTED} ones are read by the
 * sandboxed fuse2fs only, and a request for the kernel's driver is refused.
 */
public record TrustPolicy(Trust defaultTrust, Map<TemplateId, Trust> templates) {

    public enum Trust {
        TRUSTED, CHECKED, UNTRUSTED;

        public static Trust parse(String text) {
            for (Trust trust : values()) {
                if (trust.name().equalsIgnoreCase(text)) {
                    return trust;
                }
            }
            throw TmountException.invalid("trust level '%s' is unknown; accepted: trusted, checked, untrusted", text);
        }
    }

    public TrustPolicy {
        defaultTrust = defaultTrust == null ? Trust.TRUSTED : defaultTrust;
        templates = Map.copyOf(templates);
    }

    /** Every template trusted: the kernel's ext4 unless a mount asks for the userspace mode. */
    public static TrustPolicy trustingAll() {
        return new TrustPolicy(Trust.TRUSTED, Map.of());
    }

    public Trust of(TemplateId template) {
        return templates.getOrDefault(template, defaultTrust);
    }

    /** The options a mount of {@code template} gets under this policy: a filesystem mode always set. */
    public MountOptions apply(TemplateId template, MountOptions options) {
        Trust trust = of(template);
        FilesystemMode asked = options.fs();
        return switch (trust) {
            case TRUSTED -> options.withFs(asked == null ? FilesystemMode.KERNEL : asked);
            case CHECKED -> {
                FilesystemMode fs = asked == null ? FilesystemMode.KERNEL : asked;
                yield options.withFs(fs).withFsck(options.fsck() || fs == FilesystemMode.KERNEL);
            }
            case UNTRUSTED -> {
                if (asked == FilesystemMode.KERNEL) {
                    throw new TmountException(TmountException.Kind.FORBIDDEN, String.format("template %s is not "
                            + "trusted by this host's policy: the host kernel may not read its filesystem; mount it "
                            + "with the userspace filesystem mode (--fs userspace)", template));
                }
                yield options.withFs(FilesystemMode.USERSPACE);
            }
        };
    }
}
