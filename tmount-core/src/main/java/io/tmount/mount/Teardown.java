package io.tmount.mount;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The release steps of everything a mount acquired, run in reverse order of acquisition. Every step runs even when
 * an earlier one fails; the first failure is thrown and later ones ride along as suppressed exceptions.
 */
final class Teardown implements AutoCloseable {

    interface Step {
        void run() throws Exception;
    }

    private record Named(String what, Step step) {
    }

    private final Deque<Named> steps = new ArrayDeque<>();

    void push(String what, Step step) {
        steps.push(new Named(what, step));
    }

    @Override
    public void close() throws IOException {
        IOException failure = null;
        while (!steps.isEmpty()) {
            Named named = steps.pop();
            try {
                named.step().run();
            } catch (Exception e) {
                IOException wrapped = new IOException("cannot " + named.what() + ": " + e.getMessage(), e);
                if (failure == null) {
                    failure = wrapped;
                } else {
                    failure.addSuppressed(wrapped);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Closes, adding any failure to {@code primary} instead of replacing it. */
    void closeOnto(Throwable primary) {
        try {
            close();
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }
}
