package io.tmount.device;

import java.io.IOException;
import java.nio.file.Path;

/** A block device connected to an NBD export; closing disconnects it and releases everything the attach made. */
public interface AttachedDevice extends AutoCloseable {

    Path devicePath();

    /** The device number: N of /dev/nbdN or /dev/loopN. */
    int slot();

    DeviceRecord record();

    @Override
    void close() throws IOException;
}
