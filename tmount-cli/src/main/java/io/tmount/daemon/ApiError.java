package io.tmount.daemon;

import io.tmount.TmountException;

/** The body of every error the daemon API returns. */
public record ApiError(String error, TmountException.Kind kind) {
}
