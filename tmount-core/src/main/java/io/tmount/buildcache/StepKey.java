package io.tmount.buildcache;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * What a build step's result depends on, as text (one fact per line, see the builder's step keys), and its SHA-256,
 * which names the step's entry in the build cache.
 */
public record StepKey(String text, String hash) {

    /** Goes up whenever what a key covers, or how a step runs, changes: older entries then no longer match. */
    public static final int VERSION = 1;

    public static StepKey of(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return new StepKey(text, HexFormat.of().formatHex(digest));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
