package io.tmount.store;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.UUID;

/** A build's id: the store folder holding its rootfs. Globally unique; tmount makes UUIDs, as e2b does. */
public record BuildId(@JsonValue String value) {

    public BuildId {
        Ids.check("build id", value);
    }

    @JsonCreator
    public static BuildId of(String value) {
        return new BuildId(value);
    }

    public static BuildId random() {
        return new BuildId(UUID.randomUUID().toString());
    }

    @Override
    public String toString() {
        return value;
    }
}
