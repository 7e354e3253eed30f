package io.tmount.cli;

import java.io.IOException;

/** Runs work under a progress task, marking the task failed when the work throws. */
final class Tasks {

    interface Work<T> {
        T run() throws IOException;
    }

    private Tasks() {
    }

    static <T> T failing(ProgressDisplay.Task task, Work<T> work) throws IOException {
        try {
            return work.run();
        } catch (IOException | RuntimeException | Error e) {
            task.fail();
            throw e;
        }
    }
}
