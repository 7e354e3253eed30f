package io.tmount.nbd;

import io.tmount.image.BlockImage;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One export of an NBD server: a name, a block image and whether clients may write. The server does not own the
 * image; whoever made the export closes it after the server.
 */
public record NbdExport(String name, String description, BlockImage image, boolean readOnly) {

    public NbdExport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(image, "image");
        description = description == null ? "" : description;
        if (name.indexOf('\0') >= 0 || name.getBytes(StandardCharsets.UTF_8).length > 4096) {
            throw new IllegalArgumentException("export name must be at most 4096 bytes without NUL");
        }
    }
}
