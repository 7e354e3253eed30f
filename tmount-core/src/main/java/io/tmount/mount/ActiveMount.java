package io.tmount.mount;

import java.io.IOException;

/**
 * A mounted template and how to take it apart: {@code resources} (device, server, image) first; only when all of
 * them are released does {@code bookkeeping} (journal, folders) go, so a failed release stays in the journal for
 * the next start to reclaim.
 */
record ActiveMount(MountInfo info, Teardown resources, Teardown bookkeeping) implements MountManager.Slot {

    void release() throws IOException {
        resources.close();
        bookkeeping.close();
    }

    void releaseOnto(Throwable primary) {
        try {
            release();
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }
}
