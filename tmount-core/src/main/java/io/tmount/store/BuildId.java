package io.tmount.store;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
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

    /**
     * The UUID that stands for this build in layered headers: the id itself when it is a UUID (e2b's builds), else
     * a name-based UUID derived from it, which the chain's metadata maps back to the id.
     */
    public UUID uuid() {
        return canonicalUuid().orElseGet(() ->
                UUID.nameUUIDFromBytes(("tmount-build:" + value).getBytes(StandardCharsets.UTF_8)));
    }

    /** Whether the id is a UUID in canonical (lower-case) form, so headers can name it directly. */
    public boolean isUuid() {
        return canonicalUuid().isPresent();
    }

    private Optional<UUID> canonicalUuid() {
        try {
            UUID uuid = UUID.fromString(value);
            return uuid.toString().equals(value) ? Optional.of(uuid) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    @Override
    public String toString() {
        return value;
    }
}
