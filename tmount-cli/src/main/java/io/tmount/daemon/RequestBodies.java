package io.tmount.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.tmount.TmountException;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import java.util.stream.Collectors;

/**
 * Reads API request bodies strictly: a body must be a JSON object of the request's fields and nothing else. An
 * unknown field is refused naming it and the fields there are, since a misspelled one ({@code "readonly"}) would
 * otherwise be ignored and, say, give a writable mount where a read-only one was asked for.
 */
final class RequestBodies {

    /** Larger than any request needs; a template file text of a build request is the largest body there is. */
    static final int MAX_BODY_BYTES = 1 << 20;

    private final ObjectMapper strict;

    RequestBodies(ObjectMapper json) {
        this.strict = json.copy().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }

    /**
     * A request's body as text, refused past {@link #MAX_BODY_BYTES}: the API's bodies are small JSON objects (a
     * template file at most), and a body read whole without a bound lets one client fill the daemon's heap.
     */
    static String text(Request request) throws IOException {
        long declared = request.getLength();
        if (declared > MAX_BODY_BYTES) {
            throw tooLarge(declared + " bytes");
        }
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
            if (body.length > MAX_BODY_BYTES) {
                throw tooLarge("more than " + MAX_BODY_BYTES + " bytes");
            }
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private static TmountException tooLarge(String size) {
        return TmountException.invalid("request body of %s; the API takes at most %d bytes (1 MiB)", size,
                MAX_BODY_BYTES);
    }

    /** The body as {@code type}; {@code what} names the request in errors ("POST /v1/mounts"). */
    <T> T read(String body, Class<T> type, String what) {
        String fields = java.util.Arrays.stream(type.getRecordComponents()).map(c -> c.getName())
                .collect(Collectors.joining(", "));
        if (body == null || body.isBlank()) {
            throw TmountException.invalid("%s needs a JSON object body {%s}", what, fields);
        }
        T value;
        try {
            value = strict.readValue(body, type);
        } catch (UnrecognizedPropertyException e) {
            throw TmountException.invalid("%s: unknown field '%s' (fields: %s)", what, shorten(e.getPropertyName()), fields);
        } catch (JsonMappingException e) {
            if (e.getCause() instanceof TmountException bad) {
                throw bad; // e.g. an unknown attach backend or engine, with the accepted values
            }
            throw TmountException.invalid("%s: the body is not a valid {%s}: %s", what, fields,
                    shorten(e.getOriginalMessage()));
        } catch (JsonProcessingException e) {
            throw TmountException.invalid("%s: the body is not valid JSON: %s", what, shorten(e.getOriginalMessage()));
        }
        if (value == null) {
            throw TmountException.invalid("%s needs a JSON object body {%s}, not null", what, fields);
        }
        return value;
    }

    /** Values from a request go into messages cut short: a 4 KiB name is not worth echoing. */
    static String shorten(String text) {
        return text == null || text.length() <= 120 ? text : text.substring(0, 120) + "… (" + text.length() + " chars)";
    }
}
