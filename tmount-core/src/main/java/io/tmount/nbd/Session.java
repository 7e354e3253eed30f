package io.tmount.nbd;

/**
 * What a handshake settled for the transmission phase: the export, whether replies may be structured, and whether
 * the client selected the {@code base:allocation} metadata context (so BLOCK_STATUS may be asked).
 */
record Session(NbdExport export, boolean structuredReplies, boolean baseAllocation) {
}
