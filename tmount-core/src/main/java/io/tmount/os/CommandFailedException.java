package io.tmount.os;

import java.io.IOException;

/** A helper command exited non-zero or did not finish in time. */
public final class CommandFailedException extends IOException {

    private final CommandResult result;

    public CommandFailedException(CommandResult result, String message) {
        super(message);
        this.result = result;
    }

    public CommandResult result() {
        return result;
    }
}
