package io.tmount.builder;

import io.tmount.image.WriteFormat;
import io.tmount.store.BuildId;

import java.io.IOException;
import java.nio.file.Path;

/** The filesystem a build writes into, mounted at {@link #path()}; closing discards whatever was not committed. */
interface BuildRoot extends AutoCloseable {

    Path path();

    /** Stores the root's content as the new build (its metadata naming the build's template), written as {@code format} says. */
    void commit(BuildId newBuild, WriteFormat format) throws IOException;

    @Override
    void close() throws IOException;
}
