package io.tmount.store;

import java.io.IOException;

/** The store has no object under the key. */
public final class NoSuchObjectException extends IOException {

    public NoSuchObjectException(String storeUrl, String key) {
        super("no object '" + key + "' in store " + storeUrl);
    }
}
