package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.store.TemplateId;

import java.util.Map;

/**
 * Which templates' images the host kernel may parse: per template, with a default for the rest of the store. A
 * build is as trusted as the least trusted template its chain holds data of (a build of a trusted template made
 * from an untrusted one carries the untrusted one's metadata); a layer whose metadata names no template (e2b's
 * builds) counts as the default.
 * {@link Trust#TRUSTED} images mount as asked (the kernel's ext4 unless told otherwise); {@link Trust#CHECKED} ones
 * may use the kernel's ext4 only after {@code e2fsck -fn} passed; {@link Trust#UNTRUSTED} ones are read by the
 * sandboxed fuse2fs only, and a request for the kernel's driver is refused.
 */
public record TrustPolicy(Trust defaultTrust, Map<TemplateId, Trust> templates) {

    /** From least to most trusted. */
    public enum Trust {
        UNTRUSTED, CHECKED, TRUSTED;

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
        return template == null ? defaultTrust : templates.getOrDefault(template, defaultTrust);
    }

    /** Whether every template is trusted: then nobody's chain needs looking at. */
    public boolean trustsAll() {
        return defaultTrust == Trust.TRUSTED && templates.values().stream().allMatch(t -> t == Trust.TRUSTED);
    }

    /** The least trust of the templates (null: a layer that names none, which counts as the default). */
    public Trust leastOf(java.util.Collection<TemplateId> chain) {
        Trust least = Trust.TRUSTED;
        for (TemplateId template : chain) {
            Trust trust = of(template);
            least = trust.compareTo(least) < 0 ? trust : least;
        }
        return least;
    }

    /** The options a mount of {@code template} gets under this policy: a filesystem mode always set. */
    public MountOptions apply(TemplateId template, MountOptions options) {
        return apply(template, of(template), options);
    }

    /**
     * The options a mount gets when the templates its build's chain holds data of are {@code chain} (the template
     * asked for among them): the least trusted one decides.
     */
    public MountOptions apply(TemplateId template, java.util.Collection<TemplateId> chain, MountOptions options) {
        return apply(template, leastOf(chain), options);
    }

    private MountOptions apply(TemplateId template, Trust trust, MountOptions options) {
        FilesystemMode asked = options.fs();
        return switch (trust) {
            case TRUSTED -> options.withFs(asked == null ? FilesystemMode.KERNEL : asked);
            case CHECKED -> {
                FilesystemMode fs = asked == null ? FilesystemMode.KERNEL : asked;
                yield options.withFs(fs).withFsck(options.fsck() || fs == FilesystemMode.KERNEL);
            }
            case UNTRUSTED -> {
                if (asked == FilesystemMode.KERNEL) {
                    throw new TmountException(TmountException.Kind.FORBIDDEN, String.format("template %s (or a "
                            + "template its build was made from) is not trusted by this host's policy: the host kernel "
                            + "may not read its filesystem; mount it with the userspace filesystem mode "
                            + "(--fs userspace)", template));
                }
                yield options.withFs(FilesystemMode.USERSPACE);
            }
        };
    }
}
