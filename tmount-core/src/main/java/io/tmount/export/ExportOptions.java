package io.tmount.export;

import io.tmount.nbd.NbdListen;

/**
 * How to export: where the NBD server listens (a unix socket, or loopback TCP unless forced), whether clients may
 * write (into a copy-on-write overlay: the build or file never changes), and the export name (null: the build id, or
 * the file's name).
 */
public record ExportOptions(NbdListen listen, boolean readOnly, String name) {
}
