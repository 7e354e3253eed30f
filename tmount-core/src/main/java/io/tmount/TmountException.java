package io.tmount;

/**
 * An error tmount reports to its user: the message names the bad value or the failed step, and the
 * kind says what sort of failure it is, so the daemon can map it to a status and the CLI to an exit.
 */
public class TmountException extends RuntimeException {

    /** What sort of failure; stable across the daemon API. */
    public enum Kind {
        /** The caller passed a bad value (path, id, option). */
        INVALID_ARGUMENT(400),
        /** A template, build or mount does not exist. */
        NOT_FOUND(404),
        /** The request clashes with existing state (duplicate mount, existing build, state dir in use). */
        CONFLICT(409),
        /** The caller may not do this: a policy or the caller's credentials forbid it. */
        FORBIDDEN(403),
        /** A resource is busy (mount in use, device pool exhausted). */
        BUSY(423),
        /** The host lacks something needed (a tool, a kernel module). */
        UNAVAILABLE(503),
        /** Anything else: an operation failed. */
        FAILED(500);

        private final int httpStatus;

        Kind(int httpStatus) {
            this.httpStatus = httpStatus;
        }

        public int httpStatus() {
            return httpStatus;
        }
    }

    private final Kind kind;

    public TmountException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public TmountException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static TmountException invalid(String format, Object... args) {
        return new TmountException(Kind.INVALID_ARGUMENT, String.format(format, args));
    }

    public static TmountException notFound(String format, Object... args) {
        return new TmountException(Kind.NOT_FOUND, String.format(format, args));
    }

    public static TmountException conflict(String format, Object... args) {
        return new TmountException(Kind.CONFLICT, String.format(format, args));
    }

    public static TmountException failed(Throwable cause, String format, Object... args) {
        String message = String.format(format, args);
        if (cause != null && cause.getMessage() != null) {
            message = message + ": " + cause.getMessage();
        }
        return new TmountException(Kind.FAILED, message, cause);
    }
}
