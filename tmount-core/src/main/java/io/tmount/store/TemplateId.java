package io.tmount.store;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** A template's id, e.g. {@code base-ubuntu}; checked where it enters. */
public record TemplateId(@JsonValue String value) {

    public TemplateId {
        Ids.check("template id", value);
    }

    @JsonCreator
    public static TemplateId of(String value) {
        return new TemplateId(value);
    }

    @Override
    public String toString() {
        return value;
    }
}
