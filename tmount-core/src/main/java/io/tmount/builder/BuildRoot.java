package io.tmount.builder;


import java.io.IOException;
import java.nio.file.Path;

/** The filesystem a build writes into, mounted at {@link #path()}; closing discards whatever was not committed (see {@link MountedRoot}). */
interface BuildRoot extends AutoCloseable {

    Path path();

    @Override
    void close() throws IOException;
}
