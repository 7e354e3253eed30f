package io.tmount.store;

import java.io.IOException;

/** A create-only write found an object already under the key (another writer got there first). */
public final class ObjectExistsException extends IOException {

    public ObjectExistsException(String storeUrl, String key) {
        super("an object '" + key + "' already exists in store " + storeUrl);
    }
}
