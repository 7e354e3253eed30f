package io.tmount.nbd;

import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;

/**
 * What a handshake settled for the transmission phase: the export, whether replies may be structured, whether
 * the client selected the {@code base:allocation} metadata context (so BLOCK_STATUS may be asked), and the channels
 * to talk on (the socket itself, or TLS over it after STARTTLS).
 */
record Session(NbdExport export, boolean structuredReplies, boolean baseAllocation, ReadableByteChannel in,
               GatheringByteChannel out) {

    boolean tls() {
        return in instanceof TlsChannel;
    }
}
