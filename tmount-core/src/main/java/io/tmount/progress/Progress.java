package io.tmount.progress;

/**
 * Where long work says how far it got: {@code done} of {@code total} bytes (a total of 0 or less: not known yet).
 * Called from the working thread, often; a listener that draws or sends throttles itself.
 */
@FunctionalInterface
public interface Progress {

    /** Nobody is listening. */
    Progress NONE = (done, total) -> { };

    void update(long done, long total);
}
